"""A long history changes no plan: the window, the papers never sent twice, the late papers.

Planning reads only a subscriber's recent digests (`Store.seen_ids` with `since`,
`Store.earlier_digests`), so that a ledger of years plans as fast as a new one. These check
that it still sees all it must: against a brute-force reading of the whole history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sqlite3
from pathlib import Path

import pytest

from newsletter.config import Settings
from newsletter.models import Frequency, Paper, Profile, RankedPaper, Source, Subscriber, Topic
from newsletter.planning import MAX_CATCH_UP_DAYS, Planner, _window_start, window_start
from newsletter.store import EarlierDigests, Store

DAY = dt.date(2025, 8, 29)
NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)
READER = Subscriber(email="a@x.org", profile=Profile(topics=(Topic("agents"),)))


def _paper(pid: str, title: str, day: dt.date) -> Paper:
    return Paper(id=pid, title=title, abstract=f"{title}, with a longer abstract about it.",
                 listed_on=day, sources=frozenset({Source.HF}))


def _send(store: Store, day: dt.date, papers: list[Paper]) -> None:
    """A digest of `day` with these papers, planned and sent (its papers become seen)."""
    at = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    row = store.plan(READER.key, day, day, f"<{day}@x.org>",
                     [RankedPaper(p, 1.0, ("matched: agents",)) for p in papers], at)
    store.begin_attempt(row.id, at)
    store.mark_sent(row.id, at, "250 ok")


@pytest.mark.parametrize("days_ago", [200, 20])
def test_a_paper_sent_long_ago_and_listed_again_is_not_sent_again(tmp_path: Path,
                                                                   days_ago: int) -> None:
    """Hugging Face lists again a paper sent 200 (or 20) days ago, with a digest every day
    since: neither `preview` nor `send` picks it (the earliest candidate's first listing, not
    the window, says how far back to look: 20 days of digests are read, a paper of 200 days is
    looked up alone); the new paper of the day is picked."""
    settings = Settings(_env_file=None, db=tmp_path / "n.db", NEWSLETTER_FROM="D <d@x.org>")
    first = DAY - dt.timedelta(days=days_ago)
    old = _paper("2502.00001", "Agents that plan", first)
    with Store.open(settings.db) as store:
        store.upsert_papers([old], Source.HF, NOW - dt.timedelta(days=days_ago))
        _send(store, first, [old])
        for n in range(1, days_ago):
            day = first + dt.timedelta(days=n)
            filler = _paper(f"2503.{n:05d}", "Agents for filler", day)
            store.upsert_papers([filler], Source.HF, NOW - dt.timedelta(days=days_ago - n))
            _send(store, day, [filler])
        new = _paper("2508.00002", "Agents that act", DAY)
        store.upsert_papers([_paper(old.id, old.title, DAY), new], Source.HF, NOW)
        assert store.papers_by_id([old.id])[0].listed_on == first  # its first listing stays
        planner = Planner(store, settings, DAY)
        assert [r.paper.id for r in planner.rank(READER, DAY).picked] == [new.id]
        [planned] = planner.plan_many([READER], lambda: NOW, write=False)
        assert [r.paper.id for r in planned.digest.papers] == [new.id]
        assert old.id in store.seen_ids(READER.key, since=first)
        assert store.seen_ids(READER.key, since=first + dt.timedelta(days=1)) == {
            f"2503.{n:05d}" for n in range(1, days_ago)}


STATES = ("sent", "sent", "sent", "empty", "expired", "planned", "retry", "sending", "failed",
          "cancelled")
Row = tuple[str, str, str, str]  # digest_date, window_start, state, planned_at


def _history(db: sqlite3.Connection, rng: random.Random, subscriber: str) -> list[Row]:
    """Random digests of one subscriber (some dated within the catch-up reach, some long
    before, a few today or later), written as rows; returns (date, window_start, state,
    planned_at) of those before DAY."""
    rows: list[Row] = []
    days = rng.sample(range(-3, 60), rng.randint(0, 12))
    for ago in days:
        day = DAY - dt.timedelta(days=ago)
        start = day - dt.timedelta(days=rng.choice((0, 0, 2, 6, 9)))
        planned = NOW - dt.timedelta(days=rng.randint(0, 70), minutes=rng.randint(0, 999))
        state = rng.choice(STATES)
        if ago > 0:
            rows.append((day.isoformat(), start.isoformat(), state, planned.isoformat()))
        db.execute(
            "INSERT INTO digests (subscriber, digest_date, window_start, state, message_id, "
            "planned_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (subscriber, day.isoformat(), start.isoformat(), state, f"<{subscriber}{ago}@x>",
             planned.isoformat(), planned.isoformat()),
        )
    return rows


def _read_all(rows: list[Row]) -> EarlierDigests:
    """What the whole history says: the latest sent day, the first window, the latest plan."""
    sent = [dt.date.fromisoformat(r[0]) for r in rows if r[2] == "sent"]
    starts = [dt.date.fromisoformat(r[1]) for r in rows]
    return EarlierDigests(max(sent, default=None), min(starts, default=None), None)


@pytest.mark.parametrize("frequency", [Frequency.DAILY, Frequency.WEEKDAYS, Frequency.WEEKLY])
def test_the_window_is_that_of_the_whole_history(tmp_path: Path, frequency: Frequency) -> None:
    """For 150 random histories (sent, empty, expired, unsent digests, near and far back), the
    window reading only the recent digests is the window of the whole history, and the time of
    the latest plan is that of the digests within the catch-up reach."""
    rng = random.Random(frequency.value)
    with Store.open(tmp_path / "n.db") as store:
        db = sqlite3.connect(tmp_path / "n.db")
        histories = {f"s{n}@x.org": _history(db, rng, f"s{n}@x.org") for n in range(150)}
        db.commit()
        db.close()
        reach = DAY - dt.timedelta(days=MAX_CATCH_UP_DAYS)
        for key, rows in histories.items():
            reader = Subscriber(email=key, profile=Profile(), frequency=frequency)
            assert window_start(store, reader, DAY) == _window_start(reader, DAY, _read_all(rows))
            recent = [r[3] for r in rows if r[0] >= reach.isoformat()]
            expected = dt.datetime.fromisoformat(max(recent)) if recent else None
            assert store.earlier_digests(key, DAY, reach).last_planned_at == expected


def test_late_papers_are_each_readers_own(tmp_path: Path) -> None:
    """A paper listed two days ago but stored only after a reader's previous digest was planned
    arrives in that reader's next digest; a reader planned after it was stored does not get it
    again as late (its window is today). Both are planned in one run, which reads the papers
    of the catch-up horizon once."""
    settings = Settings(_env_file=None, db=tmp_path / "n.db", NEWSLETTER_FROM="D <d@x.org>")
    early, later = READER, Subscriber(email="b@x.org", profile=READER.profile)
    yesterday = DAY - dt.timedelta(days=1)
    with Store.open(settings.db) as store:
        for reader, hour in ((early, 6), (later, 9)):
            at = dt.datetime.combine(DAY, dt.time(hour), tzinfo=dt.UTC)
            row = store.plan(reader.key, yesterday, yesterday, f"<{reader.key}@x.org>", [], at,
                             note=True)
            store.begin_attempt(row.id, at)
            store.mark_sent(row.id, at, "250 ok")
        late = _paper("2508.00003", "Agents listed two days ago", DAY - dt.timedelta(days=2))
        store.upsert_papers([late], Source.ARXIV, dt.datetime.combine(DAY, dt.time(8),
                                                                      tzinfo=dt.UTC))
        store.upsert_papers([_paper("2508.00004", "Agents of today", DAY)], Source.HF, NOW)
        both = [dataclasses.replace(r, sources=frozenset({Source.HF, Source.ARXIV}))
                for r in (early, later)]
        planned = Planner(store, settings, DAY).plan_many(both, lambda: NOW, write=False)
        assert [sorted(r.paper.id for r in p.digest.papers) for p in planned] == [
            ["2508.00003", "2508.00004"], ["2508.00004"]]

