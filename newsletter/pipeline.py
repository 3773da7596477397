"""Orchestration: plan the day's digests, run each, record outcomes.

Everything that varies between a test, the CLI and the daemon is injected: the clock, the
transport (SMTP or outbox) and the source fetcher. The ledger (`store`), not the caller,
decides what is due, so a rerun sends only what is not yet sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path

from newsletter import matching, sources
from newsletter.config import Settings
from newsletter.delivery import (
    Outcome,
    SendResult,
    Transport,
    TransportConfigError,
    build_message,
    make_message_id,
    manage_hint,
)
from newsletter.errors import SourceError
from newsletter.models import (
    Digest,
    DigestState,
    Excluded,
    Frequency,
    Ranking,
    Source,
    Subscriber,
)
from newsletter.render import RenderedDigest, Renderer
from newsletter.store import DigestRow, Store, UpsertCounts

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
MAX_CATCH_UP_DAYS = 7
HARD_BOUNCE_LIMIT = 3


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- fetch -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What one source (or one imported file) gave, for `newsletter fetch` to print."""

    source: Source
    label: str
    listed_on: dt.date | None
    counts: UpsertCounts = UpsertCounts()
    skipped: tuple[str, ...] = ()
    empty_day: bool = False
    error: str | None = None


def store_batch(store: Store, batch: sources.Batch, label: str, now: dt.datetime) -> FetchReport:
    """Store one batch and remember the fetch; an empty announcement day is recorded as such."""
    counts = store.upsert_papers(batch.papers, batch.source, now)
    status = "empty" if not batch.papers else "ok"
    detail = f"{len(batch.skipped)} skipped" if batch.skipped else ""
    store.record_fetch(batch.source, batch.listed_on, now, status, counts, len(batch.skipped),
                       detail)
    return FetchReport(batch.source, label, batch.listed_on, counts, batch.skipped,
                       batch.empty_day or not batch.papers)


def import_files(
    store: Store, paths: Sequence[Path], listed_on: dt.date | None, clock: Clock
) -> list[FetchReport]:
    """`fetch --file`: import recorded responses; a bad file raises `InputError` before storing."""
    batches = [(path, sources.load_file(path, listed_on)) for path in paths]
    return [store_batch(store, batch, str(path), clock()) for path, batch in batches]


def fetch_sources(
    store: Store, settings: Settings, wanted: Iterable[Source], day: dt.date,
    categories: Sequence[str], clock: Clock,
) -> list[FetchReport]:
    """Fetch each source for a listing day; a failing source is recorded and the others go on."""
    reports = []
    for source in wanted:
        try:
            batch = sources.fetch(source, day, settings, categories=categories)
        except SourceError as exc:
            log.warning("source %s failed for %s: %s", source.value, day, exc)
            store.record_fetch(source, day, clock(), "error", detail=str(exc))
            reports.append(FetchReport(source, source.value, day, error=str(exc)))
            continue
        reports.append(store_batch(store, batch, source.value, clock()))
    return reports


# --- planning ----------------------------------------------------------------------------------


def period_days(subscriber: Subscriber, day: dt.date) -> int:
    """How many listing days a digest of `day` covers for this subscriber's frequency."""
    if subscriber.frequency is Frequency.WEEKLY:
        return 7
    if subscriber.frequency is Frequency.WEEKDAYS and day.weekday() == 0:
        return 3  # Monday's digest also covers the weekend
    return 1


def is_due(subscriber: Subscriber, day: dt.date) -> bool:
    """Whether this subscriber gets a digest for digest day `day`."""
    if subscriber.frequency is Frequency.WEEKDAYS:
        return day.weekday() < 5
    if subscriber.frequency is Frequency.WEEKLY:
        return day.weekday() == subscriber.weekly_day
    return True


def window_start(store: Store, subscriber: Subscriber, day: dt.date) -> dt.date:
    """The first listing day of the digest: its period, stretched back to the last sent digest.

    Stretching means papers from a day whose digest failed, or from a source that was down,
    arrive in the next digest instead of being missed (at most `MAX_CATCH_UP_DAYS` back).
    """
    start = day - dt.timedelta(days=period_days(subscriber, day) - 1)
    last = store.last_sent_date(subscriber.key, before=day)
    if last is not None:
        floor = day - dt.timedelta(days=MAX_CATCH_UP_DAYS - 1)
        start = max(min(start, last + dt.timedelta(days=1)), floor)
    return start


def rank_for(
    store: Store, subscriber: Subscriber, start: dt.date, day: dt.date, *, explain: bool = False,
    max_papers: int | None = None,
) -> Ranking:
    """Rank the subscriber's unseen papers listed in [start, day] against their profile."""
    papers = store.papers_listed(start, day, subscriber.sources)
    profile = subscriber.profile
    if max_papers is not None:
        profile = replace(profile, max_papers=max_papers)
    candidates = matching.Candidates.build(papers, today=day)
    liked = store.papers_by_id(profile.liked) if profile.liked else []
    return matching.rank(profile, candidates, seen=store.seen_ids(subscriber.key),
                         liked_papers=liked, explain=explain)


@dataclass(frozen=True, slots=True)
class Planned:
    """A digest as planning saw it; `row` is None in a dry run (nothing is written)."""

    digest: Digest
    row: DigestRow | None


def plan_digest(
    store: Store, settings: Settings, subscriber: Subscriber, day: dt.date, now: dt.datetime,
    *, write: bool = True,
) -> Planned:
    """The digest of (subscriber, day): the stored one if it exists, else a fresh ranking."""
    row = store.digest(subscriber.key, day)
    if row is not None and row.state is not DigestState.EMPTY:
        papers = tuple(store.digest_papers(row.id))
        return Planned(Digest(subscriber, day, row.window_start, papers, row.message_id), row)
    start = window_start(store, subscriber, day)
    picked = rank_for(store, subscriber, start, day).picked
    message_id = make_message_id(subscriber, day, settings.from_address)
    digest = Digest(subscriber, day, start, picked, message_id)
    if not write:
        return Planned(digest, None)
    row = store.plan(subscriber.key, day, start, message_id, picked, now)
    return Planned(Digest(subscriber, day, row.window_start, picked, row.message_id), row)


@dataclass(frozen=True, slots=True)
class Preview:
    """Exactly what `send` would send (or has sent) that day, built without writing anything."""

    digest: Digest
    rendered: RenderedDigest
    message: EmailMessage
    excluded: tuple[Excluded, ...]


def preview(
    store: Store, settings: Settings, renderer: Renderer, subscriber: Subscriber, day: dt.date,
    now: dt.datetime, *, lookback: int | None = None, max_papers: int | None = None,
    explain: bool = False,
) -> Preview:
    """Plan without writing (or, with `lookback`, rank that many days ending on `day`)."""
    if lookback is None and max_papers is None and not explain:
        digest = plan_digest(store, settings, subscriber, day, now, write=False).digest
        excluded: tuple[Excluded, ...] = ()
    else:
        start = (day - dt.timedelta(days=lookback - 1) if lookback
                 else window_start(store, subscriber, day))
        ranking = rank_for(store, subscriber, start, day, explain=explain, max_papers=max_papers)
        message_id = make_message_id(subscriber, day, settings.from_address)
        digest = Digest(subscriber, day, start, ranking.picked, message_id)
        excluded = ranking.excluded
    rendered = renderer.render(digest, manage_hint(settings))
    message = build_message(rendered, subscriber, settings, digest.message_id, now)
    return Preview(digest, rendered, message, excluded)


# --- sending -----------------------------------------------------------------------------------


class Status(StrEnum):
    """The one-word outcome per subscriber that the CLI prints and tests check."""

    SENT = "sent"
    WOULD_SEND = "would send"
    NOTHING_NEW = "nothing new"
    ALREADY_SENT = "already sent"
    NOT_DUE = "not due"
    DISABLED = "disabled"
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
    """Everything a send needs, built once by the CLI or the scheduler."""

    settings: Settings
    store: Store
    renderer: Renderer
    transport: Transport
    clock: Clock = utc_now


def retry_delay(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with jitter: 5 min, 10, 20 … capped at 6 hours."""
    base = min(300 * 2 ** max(attempts - 1, 0), 6 * 3600)
    jitter = (rng or random.Random()).uniform(0.8, 1.2)
    return dt.timedelta(seconds=base * jitter)


def _skip_reason(runner: Runner, subscriber: Subscriber, day: dt.date) -> SubscriberResult | None:
    if not subscriber.enabled:
        return SubscriberResult(subscriber.email, Status.DISABLED, detail="enabled: false")
    why = runner.store.disabled(subscriber.key)
    if why:
        return SubscriberResult(subscriber.email, Status.DISABLED, detail=why)
    if not is_due(subscriber, day):
        return SubscriberResult(subscriber.email, Status.NOT_DUE,
                                detail=f"{subscriber.frequency.value} digest")
    return None


async def send_day(
    runner: Runner, subscribers: Sequence[Subscriber], day: dt.date, *, dry_run: bool = False
) -> RunReport:
    """Plan and send the digests of `day` for these subscribers; stop early if the relay is down.

    A dry run renders and builds every message but writes nothing and sends nothing.
    """
    report = RunReport(day, runner.transport.description)
    relay_down: str | None = None
    async with runner.transport:
        for subscriber in subscribers:
            result = _skip_reason(runner, subscriber, day)
            if result is None and relay_down:
                result = SubscriberResult(subscriber.email, Status.DEFERRED, detail=relay_down)
            if result is None:
                result = await _run_one(runner, subscriber, day, dry_run)
                if result.status is Status.DEFERRED:
                    relay_down = result.detail
            report.results.append(result)
    if relay_down:
        log.warning("relay down, run deferred: %s", relay_down)
    return report


async def _run_one(
    runner: Runner, subscriber: Subscriber, day: dt.date, dry_run: bool
) -> SubscriberResult:
    planned = plan_digest(runner.store, runner.settings, subscriber, day, runner.clock(),
                          write=not dry_run)
    row, count = planned.row, len(planned.digest.papers)
    if row is not None and row.state is DigestState.SENT:
        return SubscriberResult(subscriber.email, Status.ALREADY_SENT, count,
                                f"sent {row.sent_at:%Y-%m-%d %H:%M} UTC; nothing new since the "
                                "last digest" if row.sent_at else "")
    if not count:
        return SubscriberResult(subscriber.email, Status.NOTHING_NEW,
                                detail="nothing new since the last digest")
    if row is not None and row.state in (DigestState.FAILED, DigestState.EXPIRED,
                                         DigestState.CANCELLED):
        return SubscriberResult(subscriber.email, Status.FAILED, count, row.last_reply)
    if row is not None and row.state is DigestState.RETRY and row.next_attempt_at and \
            row.next_attempt_at > runner.clock():
        return SubscriberResult(subscriber.email, Status.RETRY, count,
                                f"next attempt {row.next_attempt_at:%Y-%m-%d %H:%M} UTC "
                                f"({row.last_reply})")
    message = build_message(
        runner.renderer.render(planned.digest, manage_hint(runner.settings)),
        subscriber, runner.settings, planned.digest.message_id, runner.clock(),
    )
    if dry_run or row is None:
        return SubscriberResult(subscriber.email, Status.WOULD_SEND, count,
                                str(message["Subject"]))
    runner.store.begin_attempt(row.id, runner.clock())
    try:
        result = await runner.transport.send(message)
    except TransportConfigError as exc:
        runner.store.mark_unsent(row.id, DigestState.RETRY, runner.clock(), str(exc),
                                 next_attempt_at=runner.clock())
        raise
    return _record(runner, subscriber, row, count, result)


def _record(
    runner: Runner, subscriber: Subscriber, row: DigestRow, count: int, result: SendResult
) -> SubscriberResult:
    """Write the attempt's outcome to the ledger (papers become seen only on SENT)."""
    store, now = runner.store, runner.clock()
    email = subscriber.email
    if result.outcome is Outcome.SENT:
        store.mark_sent(row.id, now, result.reply)
        log.info("digest sent to %s: %d papers (%s)", email, count, result.reply)
        return SubscriberResult(email, Status.SENT, count, result.location or result.reply)
    if result.outcome is Outcome.PERMANENT:
        store.mark_unsent(row.id, DigestState.FAILED, now, result.reply)
        if store.record_hard_bounce(subscriber.key, now, HARD_BOUNCE_LIMIT):
            log.warning("%s disabled after %d hard bounces", email, HARD_BOUNCE_LIMIT)
        log.warning("digest to %s failed for good: %s", email, result.reply)
        return SubscriberResult(email, Status.FAILED, count, result.reply)
    if result.outcome is Outcome.RELAY_DOWN:
        store.mark_unsent(row.id, DigestState.RETRY, now, result.reply, next_attempt_at=now)
        return SubscriberResult(email, Status.DEFERRED, count, result.reply)
    next_at = now + retry_delay(row.attempts + 1)
    store.mark_unsent(row.id, DigestState.RETRY, now, result.reply, next_attempt_at=next_at)
    log.warning("digest to %s deferred by the relay (%s); retry at %s", email, result.reply,
                next_at.isoformat(timespec="minutes"))
    return SubscriberResult(email, Status.RETRY, count,
                            f"{result.reply}; next attempt {next_at:%Y-%m-%d %H:%M} UTC")
