"""Planning rules: which listing days a digest covers and when a subscriber is due."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.models import Frequency, Profile, Subscriber
from newsletter.planning import delivery_day, is_due, period_days

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
