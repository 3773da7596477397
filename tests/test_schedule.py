"""The daemon's timing rules, pure: send slots, DST, time zones, what is due, fetch times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from newsletter.models import DigestState, Frequency, Profile, Source, Subscriber
from newsletter.schedule import (
    Slot,
    due_digests,
    hf_fetch_days,
    last_send_at,
    next_arxiv_fetch,
    next_hf_fetch,
    next_send_at,
    next_tick,
    wall_instant,
)
from newsletter.store import DigestRow

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def person(
    email: str = "ada@example.org", timezone: str = "Europe/Berlin", at: str = "07:30",
    frequency: Frequency = Frequency.DAILY, weekly_day: int = 0,
    sources: frozenset[Source] = frozenset({Source.HF}),
) -> Subscriber:
    hour, minute = map(int, at.split(":"))
    return Subscriber(email=email, profile=Profile(), timezone=timezone,
                      send_at=dt.time(hour, minute), frequency=frequency,
                      weekly_day=weekly_day, sources=sources)


def row(day: dt.date, state: DigestState, next_attempt_at: dt.datetime | None = None,
        subscriber: str = "ada@example.org") -> DigestRow:
    return DigestRow(id=1, subscriber=subscriber, digest_date=day, window_start=day,
                     state=state, message_id="<m@x>", attempts=1,
                     next_attempt_at=next_attempt_at, sent_at=None, last_reply="")


class FakeLedger:
    """The two questions `due_digests` asks of the ledger, answered from a dict."""

    def __init__(self, *rows: DigestRow, disabled: str | None = None) -> None:
        self.rows = {(r.subscriber, r.digest_date): r for r in rows}
        self.why_disabled = disabled

    def digest(self, subscriber: str, day: dt.date) -> DigestRow | None:
        return self.rows.get((subscriber, day))

    def disabled(self, subscriber: str) -> str | None:
        return self.why_disabled


# --- wall-clock instants and DST -------------------------------------------------------------


def test_summer_send_time_in_berlin_is_two_hours_before_utc() -> None:
    """07:30 in Berlin in August (CEST, UTC+2) is 05:30 UTC."""
    assert wall_instant(BERLIN, dt.date(2026, 8, 14), dt.time(7, 30)) == utc(2026, 8, 14, 5, 30)


def test_send_time_in_spring_forward_gap_moves_to_end_of_gap() -> None:
    """02:30 does not exist on 29 March 2026 in Berlin: the send is at 03:00 CEST (01:00 UTC)."""
    at = wall_instant(BERLIN, dt.date(2026, 3, 29), dt.time(2, 30))
    assert at == utc(2026, 3, 29, 1, 0)
    assert f"{at.astimezone(BERLIN):%H:%M %Z}" == "03:00 CEST"


def test_send_time_in_fall_back_fold_is_its_first_occurrence() -> None:
    """02:30 happens twice on 25 October 2026 in Berlin: the first (CEST, 00:30 UTC) counts."""
    at = wall_instant(BERLIN, dt.date(2026, 10, 25), dt.time(2, 30))
    assert at == utc(2026, 10, 25, 0, 30)
    assert f"{at.astimezone(BERLIN):%H:%M %Z}" == "02:30 CEST"


@pytest.mark.parametrize("start", [utc(2026, 3, 25), utc(2026, 10, 21)])
@pytest.mark.parametrize("at", ["02:30", "02:00", "03:00", "07:30", "00:00", "23:59"])
def test_one_send_per_local_day_across_dst_changes(start: dt.datetime, at: str) -> None:
    """Walking send to send over a DST change visits each local day once, in order."""
    subscriber, after, days = person(at=at), start, []
    for _ in range(8):
        slot = next_send_at(subscriber, after)
        days.append(slot.local_day)
        assert slot.at.astimezone(BERLIN).date() == slot.local_day
        after = slot.at
    assert days == [days[0] + dt.timedelta(days=n) for n in range(8)]


# --- which digest a send carries ---------------------------------------------------------------


def test_digest_day_is_the_local_day_before_the_send() -> None:
    """Before 07:30 the latest send is yesterday's; from 07:30 on it is today's (of yesterday)."""
    ada = person()
    before = last_send_at(ada, utc(2026, 8, 14, 5, 29, 59))
    after = last_send_at(ada, utc(2026, 8, 14, 5, 30))
    assert before == Slot(utc(2026, 8, 13, 5, 30), dt.date(2026, 8, 13), dt.date(2026, 8, 12))
    assert after == Slot(utc(2026, 8, 14, 5, 30), dt.date(2026, 8, 14), dt.date(2026, 8, 13))


def test_two_time_zones_on_the_same_utc_day_cover_their_own_local_days() -> None:
    """On 13 August (UTC) Los Angeles gets the digest of the 12th, Tokyo that of the 13th."""
    tokyo, los_angeles = person("t@x.org", "Asia/Tokyo"), person("l@x.org", "America/Los_Angeles")
    la_slot = next_send_at(los_angeles, utc(2026, 8, 13))
    tokyo_slot = next_send_at(tokyo, utc(2026, 8, 13))
    assert (la_slot.at, la_slot.digest_day) == (utc(2026, 8, 13, 14, 30), dt.date(2026, 8, 12))
    assert (tokyo_slot.at, tokyo_slot.digest_day) == (utc(2026, 8, 13, 22, 30),
                                                      dt.date(2026, 8, 13))
    due = due_digests([tokyo, los_angeles], utc(2026, 8, 13, 23), FakeLedger())
    assert [(d.subscriber.email, d.day) for d in due] == [
        ("t@x.org", dt.date(2026, 8, 13)), ("l@x.org", dt.date(2026, 8, 12))]


def test_weekly_sends_only_on_the_chosen_day() -> None:
    """A weekly digest on Friday goes out on Fridays only and covers the day before."""
    friday = person(frequency=Frequency.WEEKLY, weekly_day=4)
    slot = next_send_at(friday, utc(2026, 8, 10))  # a Monday
    assert (slot.local_day, slot.digest_day) == (dt.date(2026, 8, 14), dt.date(2026, 8, 13))
    assert next_send_at(friday, slot.at).local_day == dt.date(2026, 8, 21)
    latest = last_send_at(friday, utc(2026, 8, 20, 23))  # the next Thursday
    assert latest is not None and latest.local_day == dt.date(2026, 8, 14)


def test_weekdays_skip_saturday_and_sunday() -> None:
    """A `weekdays` subscriber gets nothing on Saturday or Sunday mornings."""
    weekdays = person(frequency=Frequency.WEEKDAYS)
    slot = next_send_at(weekdays, utc(2026, 8, 14, 6))  # Friday after the send
    assert slot.local_day == dt.date(2026, 8, 17) and slot.local_day.weekday() == 0


# --- what is due: the ledger decides -----------------------------------------------------------

D = dt.date(2026, 8, 13)
NOW = utc(2026, 8, 14, 8, 30)  # three hours after Ada's 07:30 (05:30 UTC) send


@pytest.mark.parametrize(("ledger", "due"), [
    (FakeLedger(), True),
    (FakeLedger(row(D, DigestState.SENT)), False),
    (FakeLedger(row(D, DigestState.FAILED)), False),
    (FakeLedger(row(D, DigestState.EXPIRED)), False),
    (FakeLedger(row(D, DigestState.CANCELLED)), False),
    (FakeLedger(row(D, DigestState.PLANNED)), True),
    (FakeLedger(row(D, DigestState.SENDING)), True),
    (FakeLedger(row(D, DigestState.RETRY, utc(2026, 8, 14, 8))), True),
    (FakeLedger(row(D, DigestState.RETRY, utc(2026, 8, 14, 9))), False),
    (FakeLedger(row(D, DigestState.EMPTY)), False),
    (FakeLedger(row(D - dt.timedelta(days=1), DigestState.SENT)), True),
    (FakeLedger(disabled="3 hard bounces in a row"), False),
])
def test_due_follows_the_ledger(ledger: FakeLedger, due: bool) -> None:
    """Due unless the latest send's row is final (sent, failed, …) or a retry not yet ripe."""
    assert bool(due_digests([person()], NOW, ledger)) is due


def test_due_is_the_latest_send_only() -> None:
    """Down for three days: one digest, of the latest send's day, not one per missed day."""
    due = due_digests([person()], utc(2026, 8, 17, 9), FakeLedger())
    assert [d.day for d in due] == [dt.date(2026, 8, 16)]


def test_empty_digest_is_rechecked_only_when_papers_arrived() -> None:
    """An empty digest is looked at again after a fetch brought papers, not at every tick."""
    ledger = FakeLedger(row(D, DigestState.EMPTY))
    assert due_digests([person()], NOW, ledger) == []
    [again] = due_digests([person()], NOW, ledger, recheck_empty=True)
    assert (again.day, again.state) == (D, DigestState.EMPTY)


def test_nothing_due_before_the_first_send_time_passes() -> None:
    """Restarted after a send, nothing is due until the next send time."""
    ledger = FakeLedger(row(D, DigestState.SENT))
    assert due_digests([person()], utc(2026, 8, 15, 5, 29), ledger) == []
    assert [d.day for d in due_digests([person()], utc(2026, 8, 15, 5, 30), ledger)] == \
        [dt.date(2026, 8, 14)]


# --- ticks and fetch times ---------------------------------------------------------------------


def test_ticks_are_whole_minutes() -> None:
    """A tick is the next whole minute, strictly after the given instant."""
    assert next_tick(utc(2026, 8, 14, 5, 29, 55)) == utc(2026, 8, 14, 5, 30)
    assert next_tick(utc(2026, 8, 14, 5, 30)) == utc(2026, 8, 14, 5, 31)


def test_hf_fetch_hourly_and_half_an_hour_before_a_send() -> None:
    """A 07:15 Berlin send (05:15 UTC) brings a fetch at 04:45 UTC, between hourly ones."""
    early = person(at="07:15")
    assert next_hf_fetch(utc(2026, 8, 14, 4, 10), [early]) == utc(2026, 8, 14, 4, 45)
    assert next_hf_fetch(utc(2026, 8, 14, 4, 45), [early]) == utc(2026, 8, 14, 5)
    arxiv_only = person(at="07:15", sources=frozenset({Source.ARXIV}))
    assert next_hf_fetch(utc(2026, 8, 14, 4, 10), [arxiv_only]) == utc(2026, 8, 14, 5)


@pytest.mark.parametrize(("after", "expected"), [
    (utc(2026, 8, 14, 12), utc(2026, 8, 17, 0, 30)),   # Friday → Sunday 20:30 EDT
    (utc(2026, 8, 17, 0, 30), utc(2026, 8, 18, 0, 30)),  # Sunday's → Monday's
    (utc(2026, 12, 3, 12), utc(2026, 12, 4, 1, 30)),   # Thursday in winter, 20:30 EST
])
def test_arxiv_fetch_after_the_announcement(after: dt.datetime, expected: dt.datetime) -> None:
    """arXiv is fetched at 20:30 New York time, Sunday to Thursday, in summer and winter."""
    assert next_arxiv_fetch(after) == expected


def test_hf_fetch_days_fill_the_gaps_of_the_week() -> None:
    """Yesterday and today always; older days of the week only when never fetched."""
    fetched = {dt.date(2026, 8, 9), dt.date(2026, 8, 11), dt.date(2026, 8, 12)}
    days = hf_fetch_days(utc(2026, 8, 14, 5), lambda day: day in fetched)
    assert days == [dt.date(2026, 8, 8), dt.date(2026, 8, 10), dt.date(2026, 8, 13),
                    dt.date(2026, 8, 14)]
