"""When things happen: the daemon's timing rules, as pure functions of an instant.

Nothing here reads a clock or does I/O, so DST gaps and folds, time zones, restarts and missed
runs are tested by passing instants, without waiting. What was already sent is the ledger's
answer (any `Ledger`, e.g. `Store`), never this module's: the scheduler only asks when to wake
up, and each wake-up asks the ledger again.

The digest of listing day D is delivered on the subscriber's local day L = D + 1 (see
`planning.delivery_day`) at their `send_at`, in their time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from newsletter.models import DigestState, Source, Subscriber
from newsletter.planning import delivery_day, is_due
from newsletter.store import DigestRow

UTC = dt.UTC
ONE_DAY = dt.timedelta(days=1)
WEEK_DAYS = 8  # a weekly send is at most 7 local days away; one more for DST edge days
PRE_SEND_FETCH = dt.timedelta(minutes=30)
HF_BACKFILL_DAYS = 7  # a weekly digest covers seven listing days: fetch any that are missing
ARXIV_ZONE = ZoneInfo("America/New_York")
ARXIV_FETCH_AT = dt.time(20, 30)  # arXiv announces at 20:00 US Eastern …
ARXIV_FETCH_DAYS = frozenset({6, 0, 1, 2, 3})  # … Sunday to Thursday (Monday is 0)


@dataclass(frozen=True, slots=True)
class Slot:
    """One send: its instant (UTC), the subscriber's local day and the digest day it covers."""

    at: dt.datetime
    local_day: dt.date
    digest_day: dt.date


@dataclass(frozen=True, slots=True)
class Due:
    """A digest to send now; `state` is its ledger row's state before this pass (None: no row)."""

    subscriber: Subscriber
    day: dt.date
    state: DigestState | None


class Ledger(Protocol):
    """What `due_digests` reads from the ledger; `Store` provides it."""

    def digest(self, subscriber: str, day: dt.date) -> DigestRow | None: ...

    def disabled(self, subscriber: str) -> str | None: ...


# --- send times ------------------------------------------------------------------------------


def wall_instant(zone: ZoneInfo, day: dt.date, at: dt.time) -> dt.datetime:
    """The first instant (UTC) whose local wall-clock time in `zone` is `day` `at`.

    A time inside a DST gap (02:30 on a spring-forward night) does not exist: it maps to the
    first instant after the gap. A time inside a fold happens twice: the first one counts, so a
    local day has exactly one send.
    """
    wall = dt.datetime.combine(day, at)
    early, late = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    for instant in (early, late):
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            return instant
    return _transition(zone, early, late)


def _transition(zone: ZoneInfo, early: dt.datetime, late: dt.datetime) -> dt.datetime:
    """The instant the UTC offset changes between `early` and `late`, found to the second."""
    before = early.astimezone(zone).utcoffset()
    low, high = int(early.timestamp()), int(late.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return dt.datetime.fromtimestamp(high, UTC)


def local_day(subscriber: Subscriber, instant: dt.datetime) -> dt.date:
    """The subscriber's calendar day at `instant`."""
    return instant.astimezone(ZoneInfo(subscriber.timezone)).date()


def slot_on(subscriber: Subscriber, day: dt.date) -> Slot | None:
    """The send on the subscriber's local `day`, or None when their frequency skips that day."""
    digest_day = day - ONE_DAY
    assert delivery_day(digest_day) == day
    if not is_due(subscriber, digest_day):
        return None
    at = wall_instant(ZoneInfo(subscriber.timezone), day, subscriber.send_at)
    return Slot(at, day, digest_day)


def next_send_at(subscriber: Subscriber, after: dt.datetime) -> Slot:
    """The subscriber's first send strictly after `after`."""
    today = local_day(subscriber, after)
    for offset in range(-1, WEEK_DAYS + 1):
        slot = slot_on(subscriber, today + offset * ONE_DAY)
        if slot is not None and slot.at > after:
            return slot
    raise AssertionError(f"no send within a week for {subscriber.email}")  # every frequency sends


def last_send_at(subscriber: Subscriber, now: dt.datetime) -> Slot | None:
    """The subscriber's latest send at or before `now`, looking back a week."""
    today = local_day(subscriber, now)
    for offset in range(1, -WEEK_DAYS - 1, -1):
        slot = slot_on(subscriber, today + offset * ONE_DAY)
        if slot is not None and slot.at <= now:
            return slot
    return None


# --- what is due -----------------------------------------------------------------------------


def due_now(
    subscriber: Subscriber, now: dt.datetime, ledger: Ledger, *, recheck_empty: bool = False
) -> Due | None:
    """The digest this subscriber should get now, if any: the latest send's, until it is sent.

    Only the latest send counts: older missed days arrive through the window stretch in
    `planning.window_start`, so a daemon that was down at send time sends one digest when it
    comes back, not one per missed day. An `empty` digest (nothing matched) is looked at again
    only when papers arrived since (`recheck_empty`).
    """
    if not subscriber.enabled or ledger.disabled(subscriber.key):
        return None
    slot = last_send_at(subscriber, now)
    if slot is None:
        return None
    row = ledger.digest(subscriber.key, slot.digest_day)
    if row is None or _wants_sending(row, now, recheck_empty):
        return Due(subscriber, slot.digest_day, None if row is None else row.state)
    return None


def _wants_sending(row: DigestRow, now: dt.datetime, recheck_empty: bool) -> bool:
    """Sent, failed for good, expired and cancelled rows are final; the others are not."""
    if row.state in (DigestState.PLANNED, DigestState.SENDING):
        return True
    if row.state is DigestState.RETRY:
        return row.next_attempt_at is None or row.next_attempt_at <= now
    return row.state is DigestState.EMPTY and recheck_empty


def due_digests(
    subscribers: Iterable[Subscriber], now: dt.datetime, ledger: Ledger, *,
    recheck_empty: bool = False,
) -> list[Due]:
    """Every digest due now, in file order (see `due_now`)."""
    found = (due_now(s, now, ledger, recheck_empty=recheck_empty) for s in subscribers)
    return [due for due in found if due is not None]


# --- ticks and fetches -----------------------------------------------------------------------


def next_tick(after: dt.datetime) -> dt.datetime:
    """The next whole minute strictly after `after`: send times are whole minutes."""
    return after.astimezone(UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


def uses(subscribers: Iterable[Subscriber], source: Source) -> list[Subscriber]:
    """The enabled subscribers who read `source`."""
    return [s for s in subscribers if s.enabled and source in s.sources]


def next_hf_fetch(after: dt.datetime, subscribers: Sequence[Subscriber]) -> dt.datetime:
    """Hugging Face lists papers through the UTC day: every hour, and 30 minutes before a send.

    Every send gets its own early fetch (not only the day's earliest), so a digest sent at
    07:45 carries what was listed until 07:15, not until 07:00.
    """
    hourly = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + \
        dt.timedelta(hours=1)
    before_sends = (next_send_at(s, after + PRE_SEND_FETCH).at - PRE_SEND_FETCH
                    for s in uses(subscribers, Source.HF))
    return min([hourly, *before_sends])


def next_arxiv_fetch(after: dt.datetime) -> dt.datetime:
    """30 minutes after arXiv's announcement (20:00 US Eastern, Sunday to Thursday)."""
    today = after.astimezone(ARXIV_ZONE).date()
    for offset in range(WEEK_DAYS):
        day = today + offset * ONE_DAY
        if day.weekday() in ARXIV_FETCH_DAYS:
            at = wall_instant(ARXIV_ZONE, day, ARXIV_FETCH_AT)
            if at > after:
                return at
    raise AssertionError("arXiv announces every week")


def hf_fetch_days(now: dt.datetime, fetched: Callable[[dt.date], bool]) -> list[dt.date]:
    """Today's and yesterday's UTC listings (still growing), and any day of the last week
    that has no successful fetch yet (the daemon was down), oldest first."""
    today = now.astimezone(UTC).date()
    older = [today - n * ONE_DAY for n in range(HF_BACKFILL_DAYS - 1, 1, -1)]
    return [day for day in older if not fetched(day)] + [today - ONE_DAY, today]


def arxiv_day(now: dt.datetime) -> dt.date:
    """The announcement day an arXiv fetch at `now` reads: the US Eastern date."""
    return now.astimezone(ARXIV_ZONE).date()
