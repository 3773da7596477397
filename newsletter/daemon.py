"""The scheduler daemon (`newsletter serve`): fetch on time, send what the ledger says is due.

Every minute, and once at start-up (the catch-up pass), a tick asks `schedule.due_digests`
which (subscriber, digest day) pairs are due now and sends them with `pipeline.send_day` under
the send lock. Nothing about "already sent" lives in memory: a restart, a missed tick or a clock
change only leads to the same question being asked of the ledger again, so it cannot produce a
second digest for a day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from newsletter import fetching, schedule
from newsletter.config import Settings
from newsletter.delivery import SendResult, Transport, TransportConfigError, make_transport
from newsletter.errors import ConfigError, NewsletterError
from newsletter.fetching import FetchReport
from newsletter.locking import AlreadyRunning, send_lock
from newsletter.models import DigestState, Source, Subscriber
from newsletter.pipeline import Runner, RunReport, Status, cancel_ineligible, send_day, utc_now
from newsletter.render import Renderer
from newsletter.scheduler import Scheduler
from newsletter.store import Store, damaged
from newsletter.subscribers import load_subscribers

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Fetcher = Callable[
    [Store, Settings, Iterable[Source], dt.date, Sequence[str], Clock], list[FetchReport]
]
TransportFactory = Callable[[Settings], Transport]

TICK_GRACE = 50.0  # seconds: a tick later than this is dropped (the next one comes anyway)
FETCH_GRACE = 600.0
FIRST_PAUSE = dt.timedelta(minutes=5)  # sending pauses after the relay was down or refused us
MAX_PAUSE = dt.timedelta(hours=1)


def event(name: str, /, **fields: object) -> str:
    """One structured log line, `event=NAME key=value …`, quoting values with spaces."""
    parts = [f"event={name}"]
    for key, value in fields.items():
        text = " ".join(str(value).split())
        if not text or any(ch in text for ch in ' "='):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class WallClock:
    """The daemon's clock: the wall clock, ahead by a fixed offset (zero outside tests)."""

    offset: dt.timedelta = dt.timedelta(0)

    @classmethod
    def starting_at(cls, start: dt.datetime) -> WallClock:
        return cls(start - utc_now())

    def __call__(self) -> dt.datetime:
        return utc_now() + self.offset


# --- the subscribers file ----------------------------------------------------------------------


@dataclass
class SubscribersFile:
    """The subscribers file as last loaded successfully; reloaded when its content changes.

    A bad edit is logged with its `file:line:column` and the last good version keeps running,
    so a typo made while the daemon runs never stops the digests of everyone else.
    """

    path: Path
    subscribers: tuple[Subscriber, ...] = ()
    _stamp: tuple[int, int, int] | None = None
    _digest: str | None = None
    _problem: str | None = None

    def load(self) -> tuple[Subscriber, ...]:
        """The first load, at start-up: a problem is a `ConfigError` (fail closed)."""
        self._stamp, self._digest = self._fingerprint()
        self.subscribers = load_subscribers(self.path)
        return self.subscribers

    def reload(self) -> bool:
        """Reload if the file changed since the last look; True when new subscribers took effect."""
        try:
            stamp = _stat(self.path)
            if stamp == self._stamp:
                return False
            self._stamp, digest = self._fingerprint()
            if digest == self._digest:
                self._problem = None  # back to the content that is running
                return False
            self._digest = digest
            self.subscribers = load_subscribers(self.path)
        except (ConfigError, OSError) as exc:
            self._report(str(exc))
            return False
        self._problem = None
        log.info(event("subscribers", status="reloaded", path=self.path,
                       count=len(self.subscribers)))
        return True

    def _fingerprint(self) -> tuple[tuple[int, int, int] | None, str | None]:
        try:
            return _stat(self.path), hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None, None  # `load_subscribers` says what is wrong with the file

    def _report(self, problem: str) -> None:
        """Log a problem once, not at every tick until it is fixed."""
        if problem != self._problem:
            self._problem = problem
            log.error(event("subscribers", status="error", kept=f"{len(self.subscribers)} "
                            "subscribers of the last good file", detail=problem))


def _stat(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size, info.st_ino


# --- connections kept open for a tick --------------------------------------------------------


class _Kept:
    """A transport that `async with` does not close; `close()` does, at the end of the tick."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.description = inner.description
        self._open = False

    async def __aenter__(self) -> _Kept:
        if not self._open:
            await self.inner.__aenter__()
            self._open = True
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None

    async def send(self, message: EmailMessage) -> SendResult:
        return await self.inner.send(message)

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self.inner.__aexit__(None, None, None)


class _Connections:
    """The transports of one tick, handed out again to each `send_day` batch.

    The daemon sends in batches of one message per connection, so that a stop request waits
    only for the messages in flight; keeping the connections open across batches means that
    costs no reconnect.
    """

    def __init__(self, settings: Settings, factory: TransportFactory) -> None:
        self._settings, self._factory = settings, factory
        self._kept = [_Kept(factory(settings))]
        self._next = 1

    @property
    def first(self) -> _Kept:
        return self._kept[0]

    def rewind(self) -> None:
        self._next = 1

    def connect(self) -> Transport:
        if self._next == len(self._kept):
            self._kept.append(_Kept(self._factory(self._settings)))
        self._next += 1
        return self._kept[self._next - 1]

    async def close(self) -> None:
        for kept in self._kept:
            await kept.close()


def _batches(
    due: Sequence[schedule.Due], size: int
) -> Iterator[tuple[dt.date, list[schedule.Due]]]:
    """Due digests grouped by digest day (oldest first), in batches of at most `size`."""
    for day in sorted({d.day for d in due}):
        group = [d for d in due if d.day == day]
        for start in range(0, len(group), size):
            yield day, group[start : start + size]


def _relay_down(reports: list[RunReport]) -> bool:
    return bool(reports) and any(r.status is Status.DEFERRED for r in reports[-1].results)


# --- the daemon ------------------------------------------------------------------------------


@dataclass
class Daemon:
    """Ticks and fetches over one settings object; `run` is the whole life of `serve`."""

    settings: Settings
    clock: Clock = field(default_factory=WallClock)
    transport_factory: TransportFactory = make_transport
    fetcher: Fetcher = fetching.fetch_sources
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.file = SubscribersFile(self.settings.subscribers)
        self.scheduler: Scheduler | None = None
        self._renderer: Renderer | None = None
        self._fresh = threading.Event()  # papers arrived: look at empty digests again
        self._paused_until: dt.datetime | None = None
        self._pause = FIRST_PAUSE
        self._signal: str | None = None

    @property
    def subscribers(self) -> tuple[Subscriber, ...]:
        return self.file.subscribers

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            raise RuntimeError("Daemon.start() must run first")
        return self._renderer

    def start(self) -> None:
        """Fail closed before anything is fetched or sent: the file, templates, database, relay."""
        self.file.load()
        renderer = Renderer(self.settings.templates, thumbnails=self.settings.thumbnails)
        renderer.self_test()
        with Store.open(self.settings.db):
            pass
        transport = self.transport_factory(self.settings)
        self._renderer = renderer
        log.info(event("start", subscribers=len(self.subscribers), db=self.settings.db,
                       transport=transport.description, now=self.clock().isoformat()))

    # ticks ------------------------------------------------------------------------------------

    def tick(self) -> list[RunReport]:
        """One pass: reload the file if it changed, then send every digest that is due now."""
        if self.stopping.is_set():
            return []
        if self.file.reload():
            self._after_reload()
        now = self.clock()
        if self._paused_until is not None and now < self._paused_until:
            return []
        recheck = self._fresh.is_set()
        self._fresh.clear()
        with Store.open(self.settings.db) as store:
            due = schedule.due_digests(self.subscribers, now, store, recheck_empty=recheck)
            return self._send(store, due) if due else []

    def catch_up(self) -> list[RunReport]:
        """At start-up: when digests are due (the daemon was down), fetch first, then send."""
        with Store.open(self.settings.db) as store:
            due = schedule.due_digests(self.subscribers, self.clock(), store)
        if due:
            log.info(event("catch-up", due=len(due),
                           days=",".join(sorted({d.day.isoformat() for d in due}))))
            self.fetch_hf()
            self.fetch_arxiv()
        return self.tick()

    def _after_reload(self) -> None:
        """New send times move the pre-send fetches; people removed lose their pending digests."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.refresh("fetch-hf")
        with Store.open(self.settings.db) as store:
            runner = Runner(self.settings, store, self.renderer,
                            self.transport_factory(self.settings), clock=self.clock)
            cancel_ineligible(runner, self.subscribers)

    def _send(self, store: Store, due: list[schedule.Due]) -> list[RunReport]:
        """Send under the lock; a `send` from cron holding it means this tick is skipped."""
        try:
            with send_lock(self.settings.db):
                reports, left = asyncio.run(self._deliver(store, due))
        except AlreadyRunning as exc:
            log.warning(event("send", status="skipped", detail=str(exc)))
            return []
        except TransportConfigError as exc:
            self._back_off(str(exc))
            return []
        self._settle(reports, left)
        return reports

    async def _deliver(
        self, store: Store, due: list[schedule.Due]
    ) -> tuple[list[RunReport], int]:
        """Send batch by batch until done, asked to stop, or the relay is down.

        Returns the reports and how many digests were left for a later tick.
        """
        pool = _Connections(self.settings, self.transport_factory)
        runner = Runner(self.settings, store, self.renderer, pool.first, clock=self.clock,
                        connect=pool.connect)
        batches = list(_batches(due, self.settings.smtp_connections))
        reports: list[RunReport] = []
        try:
            for index, (day, batch) in enumerate(batches):
                if self.stopping.is_set() or _relay_down(reports):
                    return reports, sum(len(b) for _, b in batches[index:])
                pool.rewind()
                report = await send_day(runner, [d.subscriber for d in batch], day,
                                        whole_file=False)
                self._log_report(report, batch)
                reports.append(report)
        finally:
            await pool.close()
        return reports, 0

    def _log_report(self, report: RunReport, batch: list[schedule.Due]) -> None:
        """One line per digest sent, failed, retried or found empty (deferrals: see `_settle`)."""
        for result, due in zip(report.results, batch, strict=True):
            fields = {"status": result.status.value.replace(" ", "-"),
                      "subscriber": result.email, "day": report.day.isoformat(),
                      "papers": result.papers, "detail": result.detail}
            if result.status is Status.SENT:
                log.info(event("digest", **fields))
            elif result.status in (Status.FAILED, Status.RETRY):
                log.warning(event("digest", **fields))
            elif result.status is Status.NOTHING_NEW and due.state is not DigestState.EMPTY:
                log.info(event("digest", **fields))
            else:
                log.debug(event("digest", **fields))

    def _settle(self, reports: list[RunReport], left: int) -> None:
        """One line for what was not sent now; a relay that was down pauses sending."""
        results = [r for report in reports for r in report.results]
        queued = [r for r in results if r.status is Status.QUEUED]
        if queued:
            log.info(event("send", status="queued", count=len(queued), detail=queued[0].detail))
        deferred = [r for r in results if r.status is Status.DEFERRED]
        if deferred:
            self._back_off(deferred[0].detail, count=len(deferred) + left)
        elif left:
            log.info(event("send", status="stopped", left=left, detail="sent at the next start"))
        elif any(r.status is Status.SENT for r in results):
            self._paused_until, self._pause = None, FIRST_PAUSE

    def _back_off(self, why: str, count: int = 0) -> None:
        """Pause sending (5 minutes, doubling up to an hour): no retry storm against a relay."""
        self._paused_until = self.clock() + self._pause
        log.warning(event("send", status="deferred", count=count, detail=why,
                          retry_at=self._paused_until.isoformat(timespec="seconds")))
        self._pause = min(self._pause * 2, MAX_PAUSE)

    # fetches ----------------------------------------------------------------------------------

    def fetch_hf(self) -> list[FetchReport]:
        """Today's and yesterday's Hugging Face listings, and any missing day of the week."""
        if not schedule.uses(self.subscribers, Source.HF):
            return []
        with Store.open(self.settings.db) as store:
            days = schedule.hf_fetch_days(self.clock(),
                                          lambda day: _fetched(store, Source.HF, day))
            return self._fetch(store, Source.HF, days, ())

    def fetch_arxiv(self) -> list[FetchReport]:
        """Today's arXiv announcement, for the categories of the subscribers who read arXiv."""
        readers = schedule.uses(self.subscribers, Source.ARXIV)
        if not readers:
            return []
        categories = sorted({c for s in readers for c in s.profile.arxiv_categories})
        with Store.open(self.settings.db) as store:
            return self._fetch(store, Source.ARXIV, [schedule.arxiv_day(self.clock())],
                               categories)

    def _fetch(self, store: Store, source: Source, days: list[dt.date],
               categories: Sequence[str]) -> list[FetchReport]:
        """Fetch day by day (stopping early on request); fetching records each outcome."""
        reports: list[FetchReport] = []
        for day in days:
            if self.stopping.is_set():
                break
            for report in self.fetcher(store, self.settings, [source], day, categories,
                                       self.clock):
                _log_fetch(report)
                reports.append(report)
        if any(r.counts.new or r.counts.updated for r in reports):
            self._fresh.set()
        return reports

    # the life of `serve` ----------------------------------------------------------------------

    def guarded(self, name: str, job: Callable[[], object]) -> Callable[[], None]:
        """A job that logs its failure instead of raising: the daemon outlives a bad run."""

        def run() -> None:
            try:
                job()
            except NewsletterError as exc:
                log.error(event(name, status="error", detail=str(exc)))
            except sqlite3.DatabaseError as exc:  # a damaged ledger: every job fails alike
                error = damaged(self.settings.db, exc)
                if error is None:
                    log.exception(event(name, status="crashed"))
                else:
                    log.error(event(name, status="error", detail=str(error)))
            except Exception:
                log.exception(event(name, status="crashed"))

        run.__name__ = name
        return run

    def run(self, scheduler: Scheduler) -> None:
        """Start, catch up, then tick and fetch on schedule until `stop` (SIGTERM, Ctrl-C)."""
        self.start()
        previous = self._handle_signals()
        try:
            self.guarded("catch-up", self.catch_up)()
            if not self.stopping.is_set():
                self.schedule_jobs(scheduler)
                while not self.stopping.wait(timeout=1.0):
                    pass
            log.info(event("stopping", signal=self._signal or "-",
                           detail="finishing the messages in flight"))
            scheduler.shutdown()
            log.info(event("stopped"))
        finally:
            _restore_signals(previous)

    def schedule_jobs(self, scheduler: Scheduler) -> None:
        """The tick every minute and the two fetch jobs, then start firing."""
        self.scheduler = scheduler
        scheduler.add("tick", self.guarded("tick", self.tick), schedule.next_tick,
                      grace=TICK_GRACE)
        scheduler.add("fetch-hf", self.guarded("fetch", self.fetch_hf),
                      lambda after: schedule.next_hf_fetch(after, self.subscribers),
                      grace=FETCH_GRACE)
        scheduler.add("fetch-arxiv", self.guarded("fetch", self.fetch_arxiv),
                      schedule.next_arxiv_fetch, grace=FETCH_GRACE)
        scheduler.start()
        log.info(event("ready", **{job: _iso(scheduler.next_run(job))
                                   for job in ("tick", "fetch-hf", "fetch-arxiv")}))

    def stop(self) -> None:
        """Ask the daemon to stop after the messages in flight (safe from a signal handler)."""
        self.stopping.set()

    def _handle_signals(self) -> dict[int, Any]:
        """SIGTERM and SIGINT ask for a clean stop (only the main thread may set handlers)."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for number in (signal.SIGTERM, signal.SIGINT):
            previous[number] = signal.signal(number, self._on_signal)
        return previous

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        """Only set flags: logging here could re-enter a write to stderr in progress."""
        self._signal = signal.Signals(number).name
        self.stop()


def _restore_signals(previous: dict[int, Any]) -> None:
    """Put back the handlers found at start (None: not set from Python, left alone)."""
    for number, handler in previous.items():
        if handler is not None:
            signal.signal(number, handler)


def _fetched(store: Store, source: Source, day: dt.date) -> bool:
    """Whether the ledger holds a successful fetch of `source` for listing day `day`."""
    return any(name == source.value and status in ("ok", "empty")
               for name, status, _ in store.fetch_outcomes(day))


def _log_fetch(report: FetchReport) -> None:
    day = report.listed_on.isoformat() if report.listed_on else "?"
    if report.error:
        log.warning(event("fetch", source=report.source.value, day=day, status="error",
                          detail=report.error))
        return
    c = report.counts
    log.info(event("fetch", source=report.source.value, day=day,
                   status="empty" if report.empty_day else "ok", new=c.new, updated=c.updated,
                   skipped=len(report.skipped)))


def _iso(when: dt.datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when is not None else "-"
