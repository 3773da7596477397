"""The ledger: the only module that talks to SQLite.

Papers (keyed by canonical arXiv id), where and when they were listed, what each fetch yielded,
one digest row per subscriber and digest day, and the papers each subscriber has been sent.
A paper becomes *seen* only in the transaction that records its digest as sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from newsletter.errors import InputError, RunError
from newsletter.models import DigestState, Paper, RankedPaper, Source
from newsletter.store_rows import (
    AttemptRow,
    DigestRow,
    EarlierDigests,
    UpsertCounts,
    date_or_none,
    datetime_or_none,
    digest_row,
    iso_or_none,
    merge_papers,
    paper_from_json,
    paper_to_json,
)
from newsletter.store_schema import EMBEDDINGS_SINCE, MIGRATIONS, READABLE_FROM

__all__ = ["MIGRATIONS", "AttemptRow", "DigestRow", "EarlierDigests", "Store", "UpsertCounts",
           "merge_papers"]



# Commits are not synced to disk one by one (WAL with synchronous=NORMAL): each commit is
# written to the log before COMMIT returns, so a killed process (the crash the promises are
# about) loses nothing committed. A power loss or kernel panic may lose the last commits, and
# always a suffix of them (the log is replayed in order up to the first bad checksum): a
# `sending` or `sent` mark, so that digest is sent again with the same Message-ID and its
# papers stay unseen, a duplicate, never a skip. Plans are synced (`sync`) before any of their
# messages is sent, so a Message-ID the relay has seen is never planned anew. With
# synchronous=FULL, each of the two commits per message waited for an fsync.
_SYNC_COMMIT = "NORMAL"
# Decoded papers kept per connection, checked against the stored JSON before reuse.
_DECODED_MAX = 20_000
_NO_COUNTS = UpsertCounts()
_KEYS_PER_QUERY = 500  # under SQLite's limit on the parameters of one statement
# Upstream responses are kept this long for conditional requests. Most URLs are never asked
# again (a past day's list, a batch of arXiv ids), and a body is up to megabytes: kept forever,
# they were most of a ledger that runs for months.
HTTP_CACHE_DAYS = 7
_Key = TypeVar("_Key")


def _chunks(keys: Sequence[_Key]) -> Iterator[Sequence[_Key]]:
    """The keys, _KEYS_PER_QUERY at a time: as many as one statement may take."""
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        yield keys[start : start + _KEYS_PER_QUERY]


def _marks(values: Sequence[object]) -> str:
    """A placeholder per value, for `IN (...)`."""
    return ",".join("?" * len(values))


def _names(sources: Iterable[Source]) -> list[str]:
    """The sources' names, as the listings table stores them."""
    return [source.value for source in sources]


def damaged(path: Path, exc: sqlite3.DatabaseError) -> RunError | None:
    """The error to show for a ledger that is no database or whose pages are damaged (often
    found only when read); None for any other database error (a lock, a bug), which must not
    read as damage."""
    if getattr(exc, "sqlite_errorname", "") not in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return None
    return RunError(f"{path}: cannot read the database: {exc} (check it with `sqlite3 {path} "
                    "'PRAGMA integrity_check'`, or restore a backup)")


class Store:
    """A connection to the ledger file; use `Store.open` (writable) or `Store.open_readonly`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, *, readonly: bool = False,
                 version: int = len(MIGRATIONS)) -> None:
        self._db = connection
        self.path = path
        self.readonly = readonly
        self.version = version  # of the schema: older than the latest only when read-only
        self._decoded: dict[str, tuple[str, Paper]] = {}  # id → (stored JSON, Paper)
        self._paper_writes = 0  # batches of papers stored by this connection

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and migrating) the database for writing, in WAL mode."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(f"PRAGMA synchronous={_SYNC_COMMIT}")
            connection.execute("PRAGMA foreign_keys=ON")
            store = cls(connection, path)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise RunError(f"{path}: cannot open the database: {exc}") from None
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open an existing database without writing to it (for previews)."""
        if not path.exists():
            raise InputError(
                f"{path}: no database yet; run `newsletter fetch` first (or set NEWSLETTER_DB)"
            )
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        connection.row_factory = sqlite3.Row
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise damaged(path, exc) or RunError(f"{path}: cannot open the database: {exc}") \
                from None
        if version > len(MIGRATIONS):
            connection.close()
            raise InputError(f"{path}: written by a newer version of newsletter (schema "
                             f"{version}, this one knows {len(MIGRATIONS)})")
        if version < READABLE_FROM:
            connection.close()
            raise InputError(f"{path}: schema version {version}, expected {len(MIGRATIONS)}; "
                             "run `newsletter fetch` or `send` once to upgrade it")
        return cls(connection, path, readonly=True, version=version)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error (disk full, busy, crash).

        SQLite's own errors (busy past the timeout, disk full, read-only file) become a
        `RunError`: nothing of the transaction was recorded, and the next run retries it.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise RunError(f"{self.path}: could not record ({exc}); nothing of this step was "
                           "saved, the next run retries it") from None

    def sync(self) -> None:
        """Put every commit so far on disk now (commits are not synced one by one, see
        `_SYNC_COMMIT`): one fsync of the write-ahead log, e.g. for plans before sending."""
        try:
            fd = os.open(f"{self.path}-wal", os.O_RDONLY)
        except FileNotFoundError:
            return  # no log: everything is in the database file, synced by the checkpoint
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def papers_version(self) -> tuple[int, int]:
        """Changes whenever papers or listings may have changed: when another connection
        committed anything (`data_version`), or this one stored papers. Caches compare it."""
        other = int(self._db.execute("PRAGMA data_version").fetchone()[0])
        return other, self._paper_writes

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RunError(f"{self.path}: written by a newer version (schema {version})")
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

    # papers --------------------------------------------------------------------------------

    def upsert_papers(
        self, papers: Iterable[Paper], source: Source, now: dt.datetime
    ) -> UpsertCounts:
        """Store a batch in one transaction; a paper seen before is merged, never duplicated."""
        new = updated = unchanged = 0
        self._paper_writes += 1
        with self.transaction() as db:
            for paper in papers:
                row = db.execute("SELECT data FROM papers WHERE id = ?", (paper.id,)).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO papers VALUES (?, ?, ?, ?, ?)",
                        (paper.id, paper_to_json(paper), paper.listed_on.isoformat(),
                         now.isoformat(), now.isoformat()),
                    )
                    new += 1
                else:
                    old = paper_from_json(row["data"])
                    merged = merge_papers(old, paper)
                    if merged != old:
                        db.execute(
                            "UPDATE papers SET data = ?, first_listed_on = ?, updated_at = ? "
                            "WHERE id = ?",
                            (paper_to_json(merged), merged.listed_on.isoformat(), now.isoformat(),
                             paper.id),
                        )
                        updated += 1
                    else:
                        unchanged += 1
                db.execute(
                    "INSERT OR IGNORE INTO listings VALUES (?, ?, ?)",
                    (paper.id, source.value, paper.listed_on.isoformat()),
                )
        return UpsertCounts(new, updated, unchanged)

    def record_fetch(
        self, source: Source, listed_on: dt.date | None, now: dt.datetime, status: str,
        counts: UpsertCounts = _NO_COUNTS, skipped: int = 0, detail: str = "",
    ) -> None:
        """Remember what a fetch yielded, so `history` can say "no announcement that day"."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO fetches (source, listed_on, at, status, new, updated, skipped, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source.value, iso_or_none(listed_on), now.isoformat(), status, counts.new,
                 counts.updated, skipped, detail),
            )

    def fetch_outcomes(self, day: dt.date) -> list[tuple[str, str, str]]:
        """(source, status, detail) of the latest fetch of each source for a listing day."""
        rows = self._db.execute(
            "SELECT source, status, detail FROM fetches WHERE listed_on = ? OR "
            "(listed_on IS NULL AND date(at) = ?) ORDER BY id",
            (day.isoformat(), day.isoformat()),
        ).fetchall()
        latest = {row["source"]: (row["source"], row["status"], row["detail"]) for row in rows}
        return list(latest.values())

    def sources_listed(self, day: dt.date) -> set[str]:
        """The sources with at least one paper listed on this day."""
        rows = self._db.execute("SELECT DISTINCT source FROM listings WHERE listed_on = ?",
                                (day.isoformat(),)).fetchall()
        return {row[0] for row in rows}

    def papers_listed(
        self, start: dt.date, end: dt.date, sources: Iterable[Source], latest: int = -1
    ) -> list[Paper]:
        """Papers listed by any of `sources` on a day in [start, end], by id (about the order
        of publication); with `latest`, only that many of the last."""
        names = _names(sources)
        rows = self._db.execute(
            f"SELECT p.id, p.data FROM papers p WHERE p.id IN (SELECT paper_id FROM listings "
            f"WHERE listed_on BETWEEN ? AND ? AND source IN ({_marks(names)})) "
            "ORDER BY p.id DESC LIMIT ?",
            (start.isoformat(), end.isoformat(), *names, latest),
        ).fetchall()
        return [self._paper(row[0], row[1]) for row in reversed(rows)]

    def count_listed(self, start: dt.date, end: dt.date, sources: Iterable[Source]) -> int:
        """How many papers `papers_listed` has for these days and sources."""
        names = _names(sources)
        row = self._db.execute(
            f"SELECT count(DISTINCT paper_id) FROM listings WHERE listed_on BETWEEN ? AND ? "
            f"AND source IN ({_marks(names)})",
            (start.isoformat(), end.isoformat(), *names),
        ).fetchone()
        return int(row[0])

    def papers_listed_stored(
        self, start: dt.date, end: dt.date, sources: Iterable[Source]
    ) -> list[tuple[str, Paper]]:
        """Papers listed by any of `sources` on a day in [start, end], by id, each after when
        it was first stored (ISO 8601): the late arrivals of a digest are those stored after
        its subscriber's previous digest was planned."""
        names = _names(sources)
        rows = self._db.execute(
            f"SELECT p.created_at, p.id, p.data FROM papers p WHERE p.id IN (SELECT paper_id "
            f"FROM listings WHERE listed_on BETWEEN ? AND ? AND source IN ({_marks(names)})) "
            "ORDER BY p.id",
            (start.isoformat(), end.isoformat(), *names),
        ).fetchall()
        return [(row[0], self._paper(row[1], row[2])) for row in rows]

    def author_names(self) -> set[str]:
        """Every author name on a stored paper, as written (for `subscribers validate`)."""
        rows = self._db.execute(
            "SELECT DISTINCT value FROM papers, json_each(papers.data, '$.authors')"
        ).fetchall()
        return {row[0] for row in rows if isinstance(row[0], str)}

    def recent_texts(self, limit: int) -> list[str]:
        """The title, abstract and keywords of each of the `limit` papers first listed last
        (the words `subscribers validate` looks for a topic's words in)."""
        rows = self._db.execute(
            "SELECT json_extract(data, '$.title') || ' ' || json_extract(data, '$.abstract') "
            "|| ' ' || coalesce(json_extract(data, '$.ai_keywords'), '') "
            "FROM papers ORDER BY first_listed_on DESC, id DESC LIMIT ?", (limit,),
        ).fetchall()
        return [row[0] for row in rows if isinstance(row[0], str)]

    def papers_by_id(self, ids: Iterable[str]) -> list[Paper]:
        wanted = list(dict.fromkeys(ids))
        found: list[Paper] = []
        for chunk in _chunks(wanted):
            rows = self._db.execute(f"SELECT id, data FROM papers WHERE id IN ({_marks(chunk)})",
                                    chunk)
            found.extend(self._paper(row[0], row[1]) for row in rows)
        return found

    def _paper(self, paper_id: str, data: str) -> Paper:
        """The stored paper, decoded once per version: thousands of digests share a few papers,
        and decoding JSON into a `Paper` costs more than the query that fetched it."""
        found = self._decoded.get(paper_id)
        if found is not None and found[0] == data:
            return found[1]
        if len(self._decoded) >= _DECODED_MAX:
            self._decoded.clear()
        paper = paper_from_json(data)
        self._decoded[paper_id] = (data, paper)
        return paper

    def latest_listing_day(self, sources: Iterable[Source] | None = None) -> dt.date | None:
        """The latest day any source (or any of `sources`) listed a paper."""
        if sources is None:
            row = self._db.execute("SELECT max(listed_on) FROM listings").fetchone()
        else:
            names = _names(sources)
            row = self._db.execute(
                f"SELECT max(listed_on) FROM listings WHERE source IN ({_marks(names)})", names
            ).fetchone()
        return None if row[0] is None else dt.date.fromisoformat(row[0])

    def count_papers(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM papers").fetchone()[0])

    # digests -------------------------------------------------------------------------------

    def seen_ids(self, subscriber: str, since: dt.date | None = None) -> set[str]:
        """The papers the subscriber was sent; with `since`, only those a digest dated `since`
        or later sent first. A digest sends papers listed by its day, so that is every sent
        paper among papers first listed `since` or later, read from the recent digests alone:
        planning costs the same after years of history as on the first day."""
        if since is None:
            rows = self._db.execute("SELECT paper_id FROM seen WHERE subscriber = ?",
                                    (subscriber,))
        else:
            rows = self._db.execute(
                "SELECT s.paper_id FROM digests d JOIN seen s ON s.digest_id = d.id "
                "AND s.subscriber = d.subscriber WHERE d.subscriber = ? AND d.digest_date >= ?",
                (subscriber, since.isoformat()),
            )
        return {row[0] for row in rows}

    def seen_among(self, subscriber: str, ids: Sequence[str]) -> set[str]:
        """Which of these papers the subscriber was sent (a lookup each)."""
        found: set[str] = set()
        for chunk in _chunks(ids):
            rows = self._db.execute(
                "SELECT paper_id FROM seen WHERE subscriber = ? AND paper_id IN "
                f"({_marks(chunk)})",
                (subscriber, *chunk),
            )
            found.update(row[0] for row in rows)
        return found

    def digest(self, subscriber: str, day: dt.date) -> DigestRow | None:
        row = self._db.execute(
            "SELECT * FROM digests WHERE subscriber = ? AND digest_date = ?",
            (subscriber, day.isoformat()),
        ).fetchone()
        return None if row is None else digest_row(row)

    def earlier_digests(self, subscriber: str, before: dt.date, since: dt.date) -> EarlierDigests:
        """What planning needs to know of the subscriber's digests before `before`, reading
        those dated `since` or later (planning reaches back no further), and the oldest of all
        when none of them was sent: the cost stays flat as the history grows.

        `last_sent` is of the digests since `since`; `first_window_start` the earliest window
        of those and of the oldest digest (older than `since`, it stands for any earlier one:
        the window stops at the catch-up floor either way). `last_planned_at` is of the digests
        since `since`: a digest of an older day planned later (`send --date`) considered none
        of the papers of the days since."""
        sent, first, planned = self._db.execute(
            "SELECT max(CASE WHEN state = 'sent' THEN digest_date END), min(window_start), "
            "max(planned_at) FROM digests WHERE subscriber = ? AND digest_date >= ? "
            "AND digest_date < ?",
            (subscriber, since.isoformat(), before.isoformat()),
        ).fetchone()
        if sent is None:
            oldest = self._db.execute(
                "SELECT window_start FROM digests WHERE subscriber = ? AND digest_date < ? "
                "ORDER BY digest_date LIMIT 1",
                (subscriber, since.isoformat()),
            ).fetchone()
            if oldest is not None:
                first = min(filter(None, (first, oldest[0])))
        return EarlierDigests(date_or_none(sent), date_or_none(first), datetime_or_none(planned))

    def plan(
        self, subscriber: str, day: dt.date, window_start: dt.date, message_id: str,
        papers: Sequence[RankedPaper], now: dt.datetime, *, note: bool = False,
    ) -> DigestRow:
        """Create the digest row of (subscriber, day) with its papers, unless it exists.

        Idempotent: a second plan of the same day returns the existing row untouched, except
        an `empty` row, which is re-planned (late papers may have arrived since).
        """
        state = DigestState.PLANNED if papers or note else DigestState.EMPTY
        with self.transaction() as db:
            existing = self.digest(subscriber, day)
            if existing is not None and existing.state is not DigestState.EMPTY:
                return existing
            if existing is not None:
                db.execute("DELETE FROM digests WHERE id = ?", (existing.id,))
            cursor = db.execute(
                "INSERT INTO digests (subscriber, digest_date, window_start, state, message_id, "
                "planned_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (subscriber, day.isoformat(), window_start.isoformat(), state.value,
                 message_id, now.isoformat(), now.isoformat()),
            )
            assert cursor.lastrowid is not None
            created = DigestRow(cursor.lastrowid, subscriber, day, window_start, state, message_id,
                                attempts=0, next_attempt_at=None, sent_at=None, last_reply="")
            db.executemany(
                "INSERT INTO digest_papers VALUES (?, ?, ?, ?, ?)",
                [(created.id, i, r.paper.id, r.score, json.dumps(list(r.reasons)))
                 for i, r in enumerate(papers)],
            )
        return created

    def digest_papers(self, digest_id: int) -> list[RankedPaper]:
        rows = self._db.execute(
            "SELECT p.id, p.data, d.score, d.reasons FROM digest_papers d JOIN papers p "
            "ON p.id = d.paper_id WHERE d.digest_id = ? ORDER BY d.position",
            (digest_id,),
        ).fetchall()
        return [
            RankedPaper(self._paper(r["id"], r["data"]), r["score"],
                        tuple(json.loads(r["reasons"])))
            for r in rows
        ]

    def due(self, now: dt.datetime, day: dt.date | None = None) -> list[DigestRow]:
        """Digests to send now: planned, left `sending` by a crash, or retries whose time came."""
        sql = (
            "SELECT * FROM digests WHERE (state IN ('planned', 'sending') OR "
            "(state = 'retry' AND next_attempt_at <= ?))"
        )
        params: list[str] = [now.isoformat()]
        if day is not None:
            sql += " AND digest_date = ?"
            params.append(day.isoformat())
        rows = self._db.execute(sql + " ORDER BY digest_date, id", params).fetchall()
        return [digest_row(row) for row in rows]

    def unsent(self) -> list[DigestRow]:
        """Digests planned but not delivered (planned, sending, retry), of any day."""
        rows = self._db.execute(
            "SELECT * FROM digests WHERE state IN ('planned', 'sending', 'retry') "
            "ORDER BY digest_date, id"
        ).fetchall()
        return [digest_row(row) for row in rows]

    def expire_unsent(self, subscriber: str, before: dt.date, now: dt.datetime) -> list[dt.date]:
        """A newer digest is due: older undelivered ones expire; their papers stay unseen."""
        if not self._db.execute(
            "SELECT 1 FROM digests WHERE subscriber = ? AND digest_date < ? "
            "AND state IN ('planned', 'sending', 'retry') LIMIT 1",
            (subscriber, before.isoformat()),
        ).fetchone():
            return []  # the usual case, without taking the write lock
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, digest_date FROM digests WHERE subscriber = ? AND digest_date < ? "
                "AND state IN ('planned', 'sending', 'retry')",
                (subscriber, before.isoformat()),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE digests SET state = 'expired', updated_at = ?, "
                    "next_attempt_at = NULL, last_reply = last_reply || ? WHERE id = ?",
                    (now.isoformat(), f" (expired: digest of {before} due)", row["id"]),
                )
        return [dt.date.fromisoformat(row["digest_date"]) for row in rows]

    def rate_free_at(
        self, now: dt.datetime, per_minute: int | None, per_hour: int | None
    ) -> dt.datetime | None:
        """When the next message may go under the limits, counted from the ledger.

        Counting attempts recorded in the database (not in memory) means a restart does not
        reset the window.
        """
        free_at: dt.datetime | None = None
        for limit, window in ((per_minute, 60), (per_hour, 3600)):
            if not limit:
                continue
            since = now - dt.timedelta(seconds=window)
            rows = self._db.execute(
                "SELECT at FROM attempts WHERE at > ? UNION ALL SELECT updated_at FROM digests "
                "WHERE state = 'sending' AND updated_at > ? ORDER BY 1",
                (since.isoformat(), since.isoformat()),
            ).fetchall()
            if len(rows) >= limit:
                slot = dt.datetime.fromisoformat(rows[len(rows) - limit][0]) + \
                    dt.timedelta(seconds=window)
                free_at = slot if free_at is None else max(free_at, slot)
        return free_at

    def begin_attempt(self, digest_id: int, now: dt.datetime) -> None:
        """Mark a digest as in flight *before* the SMTP transaction (a crash leaves `sending`)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE digests SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id = ?",
                (now.isoformat(), digest_id),
            )

    def mark_sent(
        self, digest_id: int, now: dt.datetime, reply: str, shown: int | None = None
    ) -> None:
        """The relay said 250: the digest is sent and its papers seen, in one transaction.

        `shown` limits *seen* to the first papers when the email had to leave some out.
        """
        with self.transaction() as db:
            row = db.execute("SELECT subscriber, attempts FROM digests WHERE id = ?",
                             (digest_id,)).fetchone()
            db.execute(
                "UPDATE digests SET state = 'sent', sent_at = ?, updated_at = ?, last_reply = ?, "
                "next_attempt_at = NULL WHERE id = ?",
                (now.isoformat(), now.isoformat(), reply, digest_id),
            )
            db.execute(
                "INSERT OR IGNORE INTO seen SELECT ?, paper_id, digest_id FROM digest_papers "
                "WHERE digest_id = ? AND position < ?",
                (row["subscriber"], digest_id, 1_000_000 if shown is None else shown),
            )
            db.execute("UPDATE subscriber_state SET hard_bounces = 0 WHERE subscriber = ?",
                       (row["subscriber"],))
            self._log_attempt(db, digest_id, row["attempts"], now, "sent", reply)

    def mark_unsent(
        self, digest_id: int, state: DigestState, now: dt.datetime, reply: str,
        next_attempt_at: dt.datetime | None = None,
    ) -> None:
        """Record an attempt that did not deliver (retry later, failed for good, deferred)."""
        with self.transaction() as db:
            row = db.execute("SELECT attempts FROM digests WHERE id = ?", (digest_id,)).fetchone()
            db.execute(
                "UPDATE digests SET state = ?, updated_at = ?, last_reply = ?, "
                "next_attempt_at = ? WHERE id = ?",
                (state.value, now.isoformat(), reply, iso_or_none(next_attempt_at), digest_id),
            )
            self._log_attempt(db, digest_id, row["attempts"], now, state.value, reply)

    @staticmethod
    def _log_attempt(
        db: sqlite3.Connection, digest_id: int, attempt: int, now: dt.datetime, outcome: str,
        reply: str,
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?, ?)",
            (digest_id, attempt, now.isoformat(), outcome, reply),
        )

    def history(self, subscriber: str | None = None, limit: int = 50) -> list[DigestRow]:
        sql, params = "SELECT * FROM digests", []
        if subscriber is not None:
            sql, params = sql + " WHERE subscriber = ?", [subscriber]
        rows = self._db.execute(sql + " ORDER BY digest_date DESC, subscriber LIMIT ?",
                                [*params, limit]).fetchall()
        return [digest_row(row) for row in rows]

    def latest_day_states(self) -> tuple[dt.date | None, dict[str, int]]:
        """The latest digest day in the ledger, and how many of its digests are in each state."""
        day = self._db.execute("SELECT max(digest_date) FROM digests").fetchone()[0]
        if day is None:
            return None, {}
        rows = self._db.execute(
            "SELECT state, count(*) FROM digests WHERE digest_date = ? GROUP BY state", (day,)
        ).fetchall()
        return dt.date.fromisoformat(day), {row[0]: row[1] for row in rows}

    def attempts(self, digest_id: int) -> list[AttemptRow]:
        rows = self._db.execute(
            "SELECT * FROM attempts WHERE digest_id = ? ORDER BY attempt", (digest_id,)
        ).fetchall()
        return [AttemptRow(r["attempt"], dt.datetime.fromisoformat(r["at"]), r["outcome"],
                           r["reply"]) for r in rows]

    # conditional requests ----------------------------------------------------------------------

    def cached_response(self, url: str) -> tuple[bytes, str | None, str | None] | None:
        """(body, etag, last_modified) of the last response kept for `url`."""
        row = self._db.execute(
            "SELECT body, etag, last_modified FROM http_cache WHERE url = ?", (url,)
        ).fetchone()
        return None if row is None else (bytes(row[0]), row[1], row[2])

    def keep_response(
        self, url: str, body: bytes, etag: str | None, last_modified: str | None, now: dt.datetime
    ) -> None:
        """Keep a response for a conditional request to `url`, and forget the responses older
        than HTTP_CACHE_DAYS (a later request to their URL is simply not conditional)."""
        stale = now - dt.timedelta(days=HTTP_CACHE_DAYS)
        with self.transaction() as db:
            db.execute("DELETE FROM http_cache WHERE at < ?", (stale.isoformat(),))
            db.execute(
                "INSERT OR REPLACE INTO http_cache VALUES (?, ?, ?, ?, ?)",
                (url, etag, last_modified, body, now.isoformat()),
            )

    # embeddings ----------------------------------------------------------------------------

    def embeddings(self, model: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored vectors of these text keys (those there are), by key; none in a ledger
        from before they were stored (read-only, not upgraded yet)."""
        found: dict[bytes, bytes] = {}
        if self.version < EMBEDDINGS_SINCE:
            return found
        for chunk in _chunks(keys):
            rows = self._db.execute(
                "SELECT text_key, vector FROM embeddings WHERE model = ? AND text_key IN "
                f"({_marks(chunk)})", (model, *chunk),
            )
            found.update((bytes(key), bytes(vector)) for key, vector in rows)
        return found

    def keep_embeddings(self, model: str, vectors: dict[bytes, bytes]) -> None:
        """Store vectors by text key, in one transaction (replacing what a key had)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                [(model, key, vector) for key, vector in vectors.items()],
            )

    # bounces -------------------------------------------------------------------------------

    def record_hard_bounce(self, subscriber: str, now: dt.datetime, limit: int) -> bool:
        """Count a 5xx; return True when this bounce disables the subscriber."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO subscriber_state (subscriber, hard_bounces) VALUES (?, 1) "
                "ON CONFLICT(subscriber) DO UPDATE SET hard_bounces = hard_bounces + 1",
                (subscriber,),
            )
            count = db.execute("SELECT hard_bounces FROM subscriber_state WHERE subscriber = ?",
                               (subscriber,)).fetchone()[0]
            if count >= limit:
                db.execute(
                    "UPDATE subscriber_state SET disabled_at = coalesce(disabled_at, ?), "
                    "disabled_reason = ? WHERE subscriber = ?",
                    (now.isoformat(), f"{count} hard bounces in a row", subscriber),
                )
                return True
        return False

    def disabled(self, subscriber: str) -> str | None:
        """Why a subscriber is disabled by the ledger (repeated hard bounces), or None."""
        row = self._db.execute(
            "SELECT disabled_reason FROM subscriber_state WHERE subscriber = ? "
            "AND disabled_at IS NOT NULL", (subscriber,),
        ).fetchone()
        return None if row is None else str(row[0])
