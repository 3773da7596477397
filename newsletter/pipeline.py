"""The send run: plan the day's digests, deliver each, record every outcome in the ledger.

Everything that varies between a test, the CLI and the daemon is injected (clock, sleeper,
transport). The ledger, not the caller, decides what is due: a rerun sends only what is not yet
sent, and a digest left `sending` by a crash is re-sent with its Message-ID.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import islice

from newsletter.config import Settings
from newsletter.delivery import (
    Outcome,
    SendResult,
    Transport,
    TransportConfigError,
    build_message,
    manage_hint,
)
from newsletter.models import DigestState, Frequency, OnEmpty, Subscriber
from newsletter.planning import (
    PaperCache,
    Planned,
    Planner,
    delivery_day,
    fetch_hint,
    is_due,
    render_digest,
)
from newsletter.render import RenderedDigest, Renderer
from newsletter.store import DigestRow, Store

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
Sleeper = Callable[[float], Awaitable[None]]
MAX_RATE_WAIT = 60.0  # seconds a run waits for the rate limit before leaving the rest queued
PLAN_BATCH = 200  # subscribers planned at a time, just ahead of delivery


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Status(StrEnum):
    """The one-word outcome per subscriber that the CLI prints and tests check."""

    SENT = "sent"
    WOULD_SEND = "would send"
    NOTHING_NEW = "nothing new"
    ALREADY_SENT = "already sent"
    NOT_DUE = "not due"
    DISABLED = "disabled"
    QUEUED = "queued"
    RETRY = "retry"
    FAILED = "failed"
    DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class SubscriberResult:
    email: str
    status: Status
    papers: int = 0
    detail: str = ""


@dataclass
class RunReport:
    """The outcome of one `send`: per subscriber, in file order."""

    day: dt.date
    transport: str
    results: list[SubscriberResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status in (Status.FAILED, Status.DEFERRED) for r in self.results)


@dataclass(frozen=True, slots=True)
class Runner:
    """Everything a send needs, built once by the CLI or the scheduler.

    `connect` makes extra transports for parallel connections (up to
    `settings.smtp_connections`); without it, everything goes over `transport`. `papers`
    keeps the candidates' ranking indexes for every `send_day` made with this runner.
    """

    settings: Settings
    store: Store
    renderer: Renderer
    transport: Transport
    clock: Clock = utc_now
    sleep: Sleeper = asyncio.sleep
    connect: Callable[[], Transport] | None = None
    papers: PaperCache = field(default_factory=PaperCache, compare=False, repr=False)


def retry_delay(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with jitter: 5 min, 10, 20 … capped at 6 hours."""
    base = min(300 * 2 ** max(attempts - 1, 0), 6 * 3600)
    jitter = (rng or random.Random()).uniform(0.8, 1.2)
    return dt.timedelta(seconds=base * jitter)


# --- planning the run --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Job:
    """One digest to deliver in this run."""

    index: int
    subscriber: Subscriber
    planned: Planned


def _skip_reason(store: Store, subscriber: Subscriber, day: dt.date) -> SubscriberResult | None:
    if not subscriber.enabled:
        return SubscriberResult(subscriber.email, Status.DISABLED, detail="enabled: false")
    why = store.disabled(subscriber.key)
    if why:
        return SubscriberResult(subscriber.email, Status.DISABLED, detail=why)
    if not is_due(subscriber, day):
        return SubscriberResult(subscriber.email, Status.NOT_DUE, detail=_not_due(subscriber, day))
    return None


def _not_due(subscriber: Subscriber, day: dt.date) -> str:
    """"weekly digest, delivered on Fridays, not Saturdays": it is the delivery day, the one
    after the listing day, that is due or not, which the listing day alone does not show."""
    delivered = f"{delivery_day(day):%A}s"
    if subscriber.frequency is Frequency.WEEKLY:
        return (f"weekly digest, delivered on {calendar.day_name[subscriber.weekly_day]}s, "
                f"not {delivered}")
    return f"{subscriber.frequency.value} digest, not delivered on {delivered}"


def why_not_sent(store: Store, subscriber: Subscriber, planned: Planned,
                 now: dt.datetime) -> str | None:
    """Why `send` would send nothing to this subscriber now, worded as its report words it
    ("not due (weekly digest, …)"); None when it would send the digest (or the note). The
    run's own checks in the run's order, for `preview`."""
    result = _skip_reason(store, subscriber, planned.digest.digest_date)
    if result is None:
        outcome = _outcome(store, subscriber, planned, now)
        if not isinstance(outcome, SubscriberResult):
            return None
        result = outcome
    return f"{result.status.value} ({result.detail})" if result.detail else result.status.value


def _expire_unsent(runner: Runner, subscriber: Subscriber, day: dt.date) -> None:
    """Unsent digests of earlier days expire: their papers roll into this day's digest."""
    for expired in runner.store.expire_unsent(subscriber.key, before=day, now=runner.clock()):
        log.info("digest of %s for %s expired unsent; its papers roll into %s",
                 expired.isoformat(), subscriber.email, day.isoformat())


def _outcome(
    store: Store, subscriber: Subscriber, planned: Planned, now: dt.datetime
) -> SubscriberResult | Planned:
    """The digest to send for this subscriber, or the reason there is none to send now."""
    email, digest = subscriber.email, planned.digest
    row, count = planned.row, len(digest.papers)
    if row is not None and row.state is DigestState.SENT:
        when = f"sent {row.sent_at:%Y-%m-%d %H:%M} UTC; " if row.sent_at else ""
        return SubscriberResult(email, Status.ALREADY_SENT, count,
                                when + "nothing new since the last digest")
    wants_note = subscriber.on_empty is OnEmpty.NOTE and (row is None or row.state is not
                                                             DigestState.EMPTY)
    if not count and not wants_note:
        why = fetch_hint(store, subscriber, digest.window_start, digest.digest_date)
        return SubscriberResult(email, Status.NOTHING_NEW,
                                detail=why or "nothing new since the last digest")
    if row is not None and row.state in (DigestState.FAILED, DigestState.EXPIRED,
                                         DigestState.CANCELLED):
        return SubscriberResult(email, Status.FAILED, count, f"{row.state}: {row.last_reply}")
    if row is not None and row.state is DigestState.RETRY and row.next_attempt_at \
            and row.next_attempt_at > now:
        return SubscriberResult(email, Status.RETRY, count,
                                f"next attempt {row.next_attempt_at:%Y-%m-%d %H:%M} UTC "
                                f"({row.last_reply})")
    return planned


class Jobs:
    """The run's digests, planned a batch at a time as delivery asks for them.

    Planning everything first held every digest (and its papers) in memory at once; planning
    `PLAN_BATCH` subscribers at a time, just ahead of delivery, keeps memory flat as the list
    grows. Each plan is still its own transaction (a crash while planning keeps the plans
    before it), and the batch is synced to disk before any of its messages is sent.
    Subscribers with nothing to send get their result here, in `results`.
    """

    def __init__(self, runner: Runner, subscribers: Sequence[Subscriber], day: dt.date,
                 dry_run: bool, results: dict[int, SubscriberResult]) -> None:
        self.runner, self.dry_run, self.results = runner, dry_run, results
        self.planner = Planner(runner.store, runner.settings, day, runner.papers)
        self.planner.warm_up(subscribers)
        self._todo = iter(enumerate(subscribers))
        self._ready: deque[Job] = deque()

    def take(self) -> Job | None:
        """The next digest to deliver, or None when every subscriber has been planned."""
        while not self._ready and self._plan_batch():
            pass
        return self._ready.popleft() if self._ready else None

    def ready(self, wanted: int) -> int:
        """Plan ahead until `wanted` digests are waiting (or none are left); how many wait."""
        while len(self._ready) < wanted and self._plan_batch():
            pass
        return len(self._ready)

    def _plan_batch(self) -> bool:
        batch = list(islice(self._todo, PLAN_BATCH))
        if not batch:
            return False
        runner, day = self.runner, self.planner.day
        store = runner.store
        due: list[tuple[int, Subscriber]] = []
        for index, subscriber in batch:
            skipped = _skip_reason(store, subscriber, day)
            if skipped is not None:
                self.results[index] = skipped
                continue
            if not self.dry_run:
                _expire_unsent(runner, subscriber, day)
            due.append((index, subscriber))
        plans = self.planner.plan_many([s for _, s in due], runner.clock, write=not self.dry_run)
        for (index, subscriber), planned in zip(due, plans, strict=True):
            outcome = _outcome(store, subscriber, planned, runner.clock())
            if isinstance(outcome, SubscriberResult):
                self.results[index] = outcome
            else:
                self._ready.append(Job(index, subscriber, outcome))
        if not self.dry_run:
            store.sync()  # the batch's Message-IDs are on disk before the relay sees them
        return True


def cancel_ineligible(runner: Runner, subscribers: Sequence[Subscriber]) -> None:
    """Unsent digests of people no longer in the file (or disabled) are cancelled, not sent."""
    eligible = {s.key for s in subscribers if s.enabled}
    for row in runner.store.unsent():
        if row.subscriber not in eligible or runner.store.disabled(row.subscriber):
            runner.store.mark_unsent(row.id, DigestState.CANCELLED, runner.clock(),
                                     "subscriber removed or disabled before sending")
            log.info("digest of %s for %s cancelled: no longer subscribed",
                     row.digest_date.isoformat(), row.subscriber)


async def send_day(
    runner: Runner, subscribers: Sequence[Subscriber], day: dt.date, *, dry_run: bool = False,
    whole_file: bool = True,
) -> RunReport:
    """Plan and deliver the digests of `day`; a dry run renders everything, writes nothing.

    `whole_file` says `subscribers` is the whole file, so rows of anyone else are cancelled.
    """
    if whole_file and not dry_run:
        cancel_ineligible(runner, subscribers)
    results: dict[int, SubscriberResult] = {}
    await Delivery(runner, dry_run).run(Jobs(runner, subscribers, day, dry_run, results), results)
    report = RunReport(day, runner.transport.description)
    report.results = [results[i] for i in range(len(subscribers))]
    return report


# --- delivering --------------------------------------------------------------------------------


class Delivery:
    """Delivers jobs over a bounded number of connections, stopping cleanly when told to.

    A relay that is down defers every job not yet started; a credentials or TLS problem stops
    the run after the messages in flight, then is raised.
    """

    def __init__(self, runner: Runner, dry_run: bool) -> None:
        self.runner = runner
        self.dry_run = dry_run
        self.relay_down: str | None = None
        self.config_error: TransportConfigError | None = None
        self.gate = asyncio.Lock()

    async def run(self, jobs: Jobs, results: dict[int, SubscriberResult]) -> None:
        first = jobs.take()
        if first is not None:
            async with self.runner.transport:
                # The first message proves the connection (and the credentials) before more
                # connections open, so a refused login or a bad certificate is met only once.
                results[first.index] = await self._deliver(self.runner.transport, first)
                extra = self._extra_connections(
                    jobs.ready(self.runner.settings.smtp_connections - 1))
                await asyncio.gather(self._drain(self.runner.transport, jobs, results),
                                     *(self._worker(t, jobs, results) for t in extra))
        if self.relay_down:
            log.warning("relay down, run deferred: %s", self.relay_down)
        if self.config_error is not None:
            raise self.config_error

    def _extra_connections(self, jobs: int) -> list[Transport]:
        """More connections when the first one works and there is enough left to send."""
        if self.relay_down or self.config_error or self.runner.connect is None:
            return []
        wanted = min(self.runner.settings.smtp_connections - 1, jobs)
        return [self.runner.connect() for _ in range(wanted)]

    async def _worker(self, transport: Transport, jobs: Jobs,
                      results: dict[int, SubscriberResult]) -> None:
        async with transport:
            await self._drain(transport, jobs, results)

    async def _drain(self, transport: Transport, jobs: Jobs,
                     results: dict[int, SubscriberResult]) -> None:
        while (job := jobs.take()) is not None:
            results[job.index] = await self._deliver(transport, job)

    async def _deliver(self, transport: Transport, job: Job) -> SubscriberResult:
        """Send one job; an empty one (a note) also tells the operator of days never fetched."""
        result = await self._send(transport, job)
        digest = job.planned.digest
        if digest.papers:
            return result
        hint = fetch_hint(self.runner.store, job.subscriber, digest.window_start,
                          digest.digest_date)
        return replace(result, detail="; ".join(filter(None, (result.detail, hint))))

    async def _send(self, transport: Transport, job: Job) -> SubscriberResult:
        runner, digest, row = self.runner, job.planned.digest, job.planned.row
        email, count = job.subscriber.email, len(digest.papers)
        stop = self.relay_down or (self.config_error and str(self.config_error))
        if stop:
            return SubscriberResult(email, Status.DEFERRED, count, stop)
        rendered = self._render(job)
        message = build_message(rendered, job.subscriber, runner.settings, digest.message_id,
                                runner.clock())
        if self.dry_run or row is None:
            return SubscriberResult(email, Status.WOULD_SEND, count, str(message["Subject"]))
        async with self.gate:
            wait = await self._rate_gate()
            if wait is not None:
                return SubscriberResult(email, Status.QUEUED, count,
                                        f"rate limit reached; next slot {wait:%H:%M} UTC")
            runner.store.begin_attempt(row.id, runner.clock())
        try:
            result = await transport.send(message)
        except TransportConfigError as exc:
            runner.store.mark_unsent(row.id, DigestState.RETRY, runner.clock(), str(exc),
                                     next_attempt_at=runner.clock())
            self.config_error = self.config_error or exc
            return SubscriberResult(email, Status.DEFERRED, count, str(exc))
        return self._record(job, row, rendered.papers_shown, result)

    def _render(self, job: Job) -> RenderedDigest:
        """The digest, or for a day with nothing new, the note saying why."""
        return render_digest(self.runner.store, self.runner.renderer, job.planned.digest,
                             manage_hint(self.runner.settings))

    async def _rate_gate(self) -> dt.datetime | None:
        """Wait for a free slot under the rate limits; None when free, else the next slot."""
        settings, store = self.runner.settings, self.runner.store
        while True:
            now = self.runner.clock()
            free_at = store.rate_free_at(now, settings.rate_per_minute, settings.rate_per_hour)
            if free_at is None or free_at <= now:
                return None
            wait = (free_at - now).total_seconds()
            if wait > MAX_RATE_WAIT:
                return free_at
            await self.runner.sleep(wait)

    def _record(self, job: Job, row: DigestRow, count: int, result: SendResult) -> SubscriberResult:
        """Write the attempt's outcome to the ledger (papers become seen only on SENT)."""
        runner, email = self.runner, job.subscriber.email
        store, now = runner.store, runner.clock()
        if result.outcome is Outcome.SENT:
            store.mark_sent(row.id, now, result.reply, shown=count)
            log.info("digest sent to %s: %d papers (%s)", email, count, result.reply)
            return SubscriberResult(email, Status.SENT, count, result.location or result.reply)
        if result.outcome is Outcome.PERMANENT:
            store.mark_unsent(row.id, DigestState.FAILED, now, result.reply)
            limit = runner.settings.hard_bounce_limit
            if store.record_hard_bounce(job.subscriber.key, now, limit):
                log.warning("%s disabled after %d hard bounces in a row", email, limit)
            log.warning("digest to %s failed for good: %s", email, result.reply)
            return SubscriberResult(email, Status.FAILED, count, result.reply)
        if result.outcome is Outcome.RELAY_DOWN:
            store.mark_unsent(row.id, DigestState.RETRY, now, result.reply, next_attempt_at=now)
            self.relay_down = self.relay_down or result.reply
            return SubscriberResult(email, Status.DEFERRED, count, result.reply)
        next_at = now + retry_delay(row.attempts + 1)
        store.mark_unsent(row.id, DigestState.RETRY, now, result.reply, next_attempt_at=next_at)
        log.warning("digest to %s deferred by the relay (%s); retry at %s", email, result.reply,
                    next_at.isoformat(timespec="minutes"))
        return SubscriberResult(email, Status.RETRY, count,
                                f"{result.reply}; next attempt {next_at:%Y-%m-%d %H:%M} UTC")
