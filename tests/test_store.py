"""The ledger: schema, merging papers, idempotent planning, seen only with the sent mark."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from newsletter.errors import InputError, RunError
from newsletter.models import DigestState, Paper, RankedPaper, Source
from newsletter.store import MIGRATIONS, Store, damaged

NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)
DAY = dt.date(2025, 8, 29)


def _paper(pid: str = "2508.00001", day: dt.date = DAY, **changes: object) -> Paper:
    base: dict[str, object] = dict(id=pid, title="T", abstract="A", listed_on=day,
                                   sources=frozenset({Source.HF}))
    base.update(changes)
    return Paper(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "n.db")


def test_schema_is_versioned_and_wal(store: Store, tmp_path: Path) -> None:
    """A new database is migrated to the latest version, in WAL mode."""
    db = sqlite3.connect(tmp_path / "n.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    Store.open(tmp_path / "n.db").close()  # reopening migrates nothing and fails nothing
    assert store.path == tmp_path / "n.db"


def test_same_paper_twice_is_one_row_enriched(store: Store) -> None:
    """A paper listed again (or by another source) is merged: votes grow, nothing is lost."""
    first = store.upsert_papers([_paper(upvotes=3, github_repo="https://github.com/a/b")],
                                Source.HF, NOW)
    second = store.upsert_papers(
        [_paper(day=DAY + dt.timedelta(days=6), upvotes=27, categories=("cs.CV",),
                sources=frozenset({Source.ARXIV}))],
        Source.ARXIV, NOW)
    assert (first.new, second.new, second.updated) == (1, 0, 1)
    (paper,) = store.papers_by_id(["2508.00001"])
    assert paper.upvotes == 27 and paper.github_repo == "https://github.com/a/b"
    assert paper.listed_on == DAY and paper.categories == ("cs.CV",)
    assert paper.sources == frozenset({Source.HF, Source.ARXIV})
    assert store.count_papers() == 1
    later = DAY + dt.timedelta(days=6)
    assert [p.id for p in store.papers_listed(later, later, [Source.ARXIV])] == ["2508.00001"]
    assert store.papers_listed(later, later, [Source.HF]) == []


def test_unchanged_paper_counts_as_unchanged(store: Store) -> None:
    """Importing the same day twice reports nothing new and nothing updated."""
    store.upsert_papers([_paper()], Source.HF, NOW)
    again = store.upsert_papers([_paper()], Source.HF, NOW)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)


def test_plan_is_idempotent(store: Store) -> None:
    """Planning the same (subscriber, day) twice keeps the first row and its Message-ID."""
    store.upsert_papers([_paper()], Source.HF, NOW)
    picked = [RankedPaper(_paper(), 1.0, ("matched: x",))]
    first = store.plan("a@x.org", DAY, DAY, "<one@x>", picked, NOW)
    second = store.plan("a@x.org", DAY, DAY, "<two@x>", picked, NOW)
    assert first.id == second.id and second.message_id == "<one@x>"
    assert first.state is DigestState.PLANNED


def test_empty_plan_is_replanned_when_papers_arrive(store: Store) -> None:
    """An empty digest row does not block a later plan of the same day with papers."""
    empty = store.plan("a@x.org", DAY, DAY, "<e@x>", [], NOW)
    assert empty.state is DigestState.EMPTY
    store.upsert_papers([_paper()], Source.HF, NOW)
    row = store.plan("a@x.org", DAY, DAY, "<p@x>", [RankedPaper(_paper(), 1.0, ("r",))], NOW)
    assert row.state is DigestState.PLANNED and row.message_id == "<p@x>"


def test_seen_only_when_marked_sent(store: Store) -> None:
    """Papers become seen in the transaction that marks the digest sent, not before."""
    store.upsert_papers([_paper()], Source.HF, NOW)
    row = store.plan("a@x.org", DAY, DAY, "<m@x>", [RankedPaper(_paper(), 1.0, ("r",))], NOW)
    store.begin_attempt(row.id, NOW)
    assert store.seen_ids("a@x.org") == set()
    store.mark_unsent(row.id, DigestState.RETRY, NOW, "451 later", NOW)
    assert store.seen_ids("a@x.org") == set()
    store.begin_attempt(row.id, NOW)
    store.mark_sent(row.id, NOW, "250 ok")
    assert store.seen_ids("a@x.org") == {"2508.00001"}
    sent = store.digest("a@x.org", DAY)
    assert sent is not None and sent.state is DigestState.SENT and sent.attempts == 2
    assert [a.outcome for a in store.attempts(row.id)] == ["retry", "sent"]
    assert store.integrity_ok()


def test_failed_commit_rolls_back(store: Store) -> None:
    """An error inside a transaction leaves nothing half-written."""
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO fetches (source, at, status) VALUES ('hf', 'x', 'ok')")
        raise RuntimeError("disk full")
    assert store.fetch_outcomes(DAY) == []


def test_hard_bounces_disable_after_limit(store: Store) -> None:
    """Three hard bounces in a row disable a subscriber; a success in between resets the count."""
    assert not store.record_hard_bounce("a@x.org", NOW, 3)
    assert not store.record_hard_bounce("a@x.org", NOW, 3)
    assert store.disabled("a@x.org") is None
    assert store.record_hard_bounce("a@x.org", NOW, 3)
    assert store.disabled("a@x.org") == "3 hard bounces in a row"


def test_readonly_open_refuses_missing_database(tmp_path: Path) -> None:
    """A preview before any fetch says what to do."""
    with pytest.raises(InputError, match="run `newsletter fetch` first"):
        Store.open_readonly(tmp_path / "none.db")


def _as_version_2(path: Path) -> None:
    """Make a ledger what version 2 wrote: the same tables, without the embeddings (3) and the
    indexes of 4."""
    db = sqlite3.connect(path)
    indexes = ("seen_by_digest", "digests_unsent", "attempts_by_time", "papers_by_listing",
               "digests_by_day")
    db.executescript("DROP TABLE embeddings; " + "".join(f"DROP INDEX {i}; " for i in indexes)
                     + "PRAGMA user_version = 2;")
    db.close()


def test_upgrade_keeps_an_index_made_by_hand(tmp_path: Path) -> None:
    """A version-3 ledger where someone already made one of version 4's indexes, under its
    name, to speed a query up: the upgrade keeps it and goes on (it stopped on "already
    exists")."""
    with Store.open(tmp_path / "n.db") as store:
        store.upsert_papers([_paper()], Source.HF, NOW)
    db = sqlite3.connect(tmp_path / "n.db")
    db.executescript("DROP INDEX seen_by_digest; DROP INDEX digests_unsent; DROP INDEX "
                     "attempts_by_time; DROP INDEX digests_by_day; PRAGMA user_version = 3;")
    db.close()
    with Store.open(tmp_path / "n.db") as upgraded:
        assert upgraded.count_papers() == 1 and upgraded.integrity_ok()
    db = sqlite3.connect(tmp_path / "n.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                      "('seen_by_digest', 'papers_by_listing')").fetchone()[0] == 2
    db.close()


def test_readers_read_a_ledger_not_upgraded_yet(tmp_path: Path) -> None:
    """`preview`, `history` and `status` read a version-2 ledger as it is (they cannot write,
    so cannot upgrade it): its papers are there, and no vector is stored in it."""
    with Store.open(tmp_path / "n.db") as store:
        store.upsert_papers([_paper()], Source.HF, NOW)
    _as_version_2(tmp_path / "n.db")
    with Store.open_readonly(tmp_path / "n.db") as old:
        assert [p.id for p in old.papers_by_id(["2508.00001"])] == ["2508.00001"]
        assert old.embeddings("model", [b"key"]) == {}
    with Store.open(tmp_path / "n.db") as upgraded:  # the next writing command upgrades it
        upgraded.keep_embeddings("model", {b"key": b"vector"})
        assert upgraded.embeddings("model", [b"key"]) == {b"key": b"vector"}
        assert upgraded.count_papers() == 1 and upgraded.integrity_ok()


@pytest.mark.parametrize(("version", "says"), [
    (1, "schema version 1, expected 4; run `newsletter fetch` or `send` once to upgrade it"),
    (9, "written by a newer version of newsletter (schema 9, this one knows 4)"),
])
def test_readers_refuse_a_ledger_they_cannot_read(tmp_path: Path, version: int,
                                                  says: str) -> None:
    """Too old a ledger (or one from a newer release) is refused with what to do."""
    Store.open(tmp_path / "n.db").close()
    db = sqlite3.connect(tmp_path / "n.db")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()
    with pytest.raises(InputError) as error:
        Store.open_readonly(tmp_path / "n.db")
    assert str(error.value) == f"{tmp_path / 'n.db'}: {says}"


def test_old_responses_are_forgotten(store: Store) -> None:
    """Upstream responses are kept HTTP_CACHE_DAYS for conditional requests, then forgotten, so
    that a ledger running for months does not keep every day's bodies."""
    start = dt.datetime(2025, 8, 1, 6, tzinfo=dt.UTC)
    for days, url in ((0, "day-0"), (3, "day-3"), (8, "day-8")):
        store.keep_response(url, url.encode(), f'"{url}"', None, start + dt.timedelta(days=days))
    assert store.cached_response("day-0") is None  # 8 days old when day-8 was kept
    assert store.cached_response("day-3") == (b"day-3", '"day-3"', None)
    assert store.cached_response("day-8") == (b"day-8", '"day-8"', None)


@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_that_is_no_database_is_a_clear_error(tmp_path: Path, readonly: bool) -> None:
    """Not a traceback: what and where, for `send` as for `preview`, `history` or `validate`."""
    path = tmp_path / "newsletter.db"
    path.write_bytes(b"not a database, but a text file of this size and more" * 40)
    opener = Store.open_readonly if readonly else Store.open
    with pytest.raises(RunError, match=r"newsletter\.db: cannot (open|read) the database: file"):
        opener(path)
    assert path.read_bytes().startswith(b"not a database")  # left as it was


def test_only_damage_reads_as_damage(tmp_path: Path) -> None:
    """A lock or a misuse is not a damaged ledger: no advice to restore a backup for those."""
    path = tmp_path / "newsletter.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(sqlite3.DatabaseError) as raised:
        sqlite3.connect(path).execute("SELECT 1 FROM papers")
    error = damaged(path, raised.value)
    assert error is not None and "PRAGMA integrity_check" in str(error) and str(path) in str(error)
    assert damaged(path, sqlite3.OperationalError("database is locked")) is None
    assert damaged(path, sqlite3.ProgrammingError("Cannot operate on a closed database.")) is None
