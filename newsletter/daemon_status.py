"""`newsletter status`: what the scheduler will do next, and how its last run went.

Read from the subscribers file, the schedule rules and the ledger (read-only, and optional: a
ledger that does not exist yet means nothing was sent), never from a running daemon, so it
answers whether `serve` runs or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter import schedule
from newsletter.config import Settings
from newsletter.models import Source, Subscriber
from newsletter.store import DigestRow, Store


@dataclass(frozen=True, slots=True)
class SubscriberStatus:
    """One line of `status`: when this subscriber's next digest goes, and how the last went."""

    subscriber: Subscriber
    next_send: schedule.Slot | None  # None when disabled
    due_now: bool
    last: DigestRow | None
    disabled: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What `newsletter status` prints, read from the file, the rules and the ledger."""

    now: dt.datetime
    subscribers: tuple[SubscriberStatus, ...]
    next_fetches: tuple[tuple[str, dt.datetime], ...]
    last_day: dt.date | None = None
    last_states: tuple[tuple[str, int], ...] = ()
    fetches: tuple[tuple[dt.date, str, str, str], ...] = ()


def status_report(
    settings: Settings, subscribers: Sequence[Subscriber], now: dt.datetime
) -> StatusReport:
    """Next sends and fetches from the rules; the last run's outcome from the ledger, if any."""
    fetches = [("hf", schedule.next_hf_fetch(now, subscribers))]
    if schedule.uses(subscribers, Source.ARXIV):
        fetches.append(("arxiv", schedule.next_arxiv_fetch(now)))
    if not settings.db.exists():
        lines = tuple(_subscriber_status(s, now, _NoLedger()) for s in subscribers)
        return StatusReport(now, lines, tuple(fetches))
    with Store.open_readonly(settings.db) as store:
        lines = tuple(_subscriber_status(s, now, store) for s in subscribers)
        last_day, states = _last_run(store)
        today = now.astimezone(dt.UTC).date()
        seen = tuple((day, *outcome) for day in (today - schedule.ONE_DAY, today)
                     for outcome in store.fetch_outcomes(day))
    return StatusReport(now, lines, tuple(fetches), last_day, states, seen)


class _NoLedger:
    """The ledger before the first run: nothing sent, nobody disabled."""

    def digest(self, subscriber: str, day: dt.date) -> DigestRow | None:
        return None

    def history(self, subscriber: str | None = None, limit: int = 50) -> list[DigestRow]:
        return []

    def disabled(self, subscriber: str) -> str | None:
        return None


def _subscriber_status(subscriber: Subscriber, now: dt.datetime,
                       ledger: Store | _NoLedger) -> SubscriberStatus:
    disabled = "enabled: false" if not subscriber.enabled else ledger.disabled(subscriber.key)
    next_send = None if disabled else schedule.next_send_at(subscriber, now)
    last = ledger.history(subscriber.key, 1)
    due = schedule.due_now(subscriber, now, ledger) is not None
    return SubscriberStatus(subscriber, next_send, due, last[0] if last else None, disabled)


def _last_run(store: Store) -> tuple[dt.date | None, tuple[tuple[str, int], ...]]:
    """The latest digest day in the ledger and how many of its digests are in each state."""
    day, counts = store.latest_day_states()
    return day, tuple(sorted(counts.items()))
