"""Planning rules: which listing days a digest covers and when a subscriber is due."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter.fetching import import_files
from newsletter.models import Frequency, Profile, Source, Subscriber
from newsletter.planning import (
    delivery_day,
    empty_reasons,
    fetch_hint,
    is_due,
    period_days,
    unfetched_days,
)
from newsletter.store import Store
from tests.conftest import HF_DAYS

FRI, SAT, SUN = dt.date(2025, 8, 29), dt.date(2025, 8, 30), dt.date(2025, 8, 31)


def _sub(frequency: Frequency, weekly_day: int = 0) -> Subscriber:
    return Subscriber(email="a@x.org", profile=Profile(), frequency=frequency,
                      weekly_day=weekly_day)


@pytest.mark.parametrize(("frequency", "day", "due", "days"), [
    (Frequency.DAILY, FRI, True, 1),
    (Frequency.DAILY, SAT, True, 1),
    (Frequency.WEEKDAYS, FRI, False, 1),   # delivered Saturday
    (Frequency.WEEKDAYS, SAT, False, 1),   # delivered Sunday
    (Frequency.WEEKDAYS, SUN, True, 3),    # delivered Monday: Fri, Sat, Sun listings
    (Frequency.WEEKDAYS, dt.date(2025, 8, 28), True, 1),
    (Frequency.WEEKLY, SUN, True, 7),      # weekly on Monday: the week ending Sunday
    (Frequency.WEEKLY, FRI, False, 7),
])
def test_due_and_period(frequency: Frequency, day: dt.date, due: bool, days: int) -> None:
    """Frequencies are about the delivery day, the morning after the listing day."""
    subscriber = _sub(frequency)
    assert delivery_day(day) == day + dt.timedelta(days=1)
    assert is_due(subscriber, day) is due
    assert period_days(subscriber, day) == days


def test_weekly_on_another_day() -> None:
    """A weekly digest on Friday covers the listings up to Thursday."""
    friday = _sub(Frequency.WEEKLY, weekly_day=4)
    assert is_due(friday, dt.date(2025, 8, 28)) and not is_due(friday, FRI)


def test_a_week_with_days_never_fetched(tmp_path: Path) -> None:
    """Each run of days never fetched is named once, beside "nothing matched" for the day that
    had papers; arXiv's weekend is no missing fetch."""
    def clock() -> dt.datetime:
        return dt.datetime(2025, 9, 1, tzinfo=dt.UTC)

    monday, sunday = dt.date(2025, 8, 25), SUN
    weekly = _sub(Frequency.WEEKLY)
    with Store.open(tmp_path / "newsletter.db") as store:
        import_files(store, [HF_DAYS / "2025-08-28.json"], None, clock)
        assert empty_reasons(store, weekly, monday, sunday) == [
            "no papers were collected for 25 Aug to 27 Aug",
            "no papers were collected for 29 Aug to 31 Aug",
            "none of the new papers matched your topics"]
        assert fetch_hint(store, weekly, monday, sunday) == (
            "no papers stored for 2025-08-25 to 2025-08-27, 2025-08-29 to 2025-08-31; "
            "run `newsletter fetch --date DAY` for each day")
        assert fetch_hint(store, weekly, dt.date(2025, 8, 28), dt.date(2025, 8, 28)) == ""
        arxiv = replace(weekly, sources=frozenset({Source.ARXIV}))
        assert unfetched_days(store, arxiv, monday, sunday) == [
            monday + dt.timedelta(days=n) for n in range(5)]
