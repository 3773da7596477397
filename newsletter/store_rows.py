"""What the ledger hands out and takes in: its row types, and papers to and from JSON.

Kept apart from `store` (the SQL) so that planning, the scheduler and the CLI can name a
`DigestRow` without reading the queries.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass, fields, replace
from typing import Any

from newsletter.models import DigestState, Paper, Source


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What storing a batch changed."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class DigestRow:
    """One row of the ledger."""

    id: int
    subscriber: str
    digest_date: dt.date
    window_start: dt.date
    state: DigestState
    message_id: str
    attempts: int
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    last_reply: str


@dataclass(frozen=True, slots=True)
class EarlierDigests:
    """A subscriber's earlier digests as planning sees them (see `Store.earlier_digests`)."""

    last_sent: dt.date | None  # the latest recent digest day that was sent
    first_window_start: dt.date | None  # the earliest window of the recent digests, even
    # expired, and of the oldest one
    last_planned_at: dt.datetime | None  # when the latest recent digest was planned


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One try at delivering a digest, for `history`."""

    attempt: int
    at: dt.datetime
    outcome: str
    reply: str


def iso_or_none(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def paper_to_json(paper: Paper) -> str:
    data: dict[str, Any] = {}
    for f in fields(Paper):
        value = getattr(paper, f.name)
        if isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        elif isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def paper_from_json(text: str) -> Paper:
    data = json.loads(text)
    data["listed_on"] = dt.date.fromisoformat(data["listed_on"])
    if data.get("published_at"):
        data["published_at"] = dt.datetime.fromisoformat(data["published_at"])
    for name in ("authors", "ai_keywords", "categories"):
        data[name] = tuple(data.get(name) or ())
    data["sources"] = frozenset(Source(s) for s in data.get("sources") or ())
    known = {f.name for f in fields(Paper)}
    return Paper(**{k: v for k, v in data.items() if k in known})


def merge_papers(old: Paper, new: Paper) -> Paper:
    """One paper from two sightings: newer values win, but nothing known is lost.

    Votes and comments only grow; categories and sources are unions; the listing day is the
    first one.
    """
    updates: dict[str, Any] = {}
    for f in fields(Paper):
        value = getattr(new, f.name)
        if value not in (None, "", ()):
            updates[f.name] = value
    merged = replace(old, **updates)
    return replace(
        merged,
        listed_on=min(old.listed_on, new.listed_on),
        upvotes=max(old.upvotes, new.upvotes),
        comments=max(old.comments, new.comments),
        categories=tuple(dict.fromkeys(old.categories + new.categories)),
        sources=old.sources | new.sources,
    )


def digest_row(row: sqlite3.Row) -> DigestRow:
    return DigestRow(
        id=row["id"],
        subscriber=row["subscriber"],
        digest_date=dt.date.fromisoformat(row["digest_date"]),
        window_start=dt.date.fromisoformat(row["window_start"]),
        state=DigestState(row["state"]),
        message_id=row["message_id"],
        attempts=row["attempts"],
        next_attempt_at=datetime_or_none(row["next_attempt_at"]),
        sent_at=datetime_or_none(row["sent_at"]),
        last_reply=row["last_reply"],
    )


def datetime_or_none(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def date_or_none(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)
