"""Concurrency: two senders at once, and the database busy while a delivery is recorded."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import load_settings
from newsletter.delivery import make_transport
from newsletter.errors import RunError
from newsletter.render import Renderer
from newsletter.store import Store
from newsletter.subscribers import load_subscribers
from tests.smtp_server import At, SmtpServer
from tests.test_crash import (
    DAY,
    SIX,
    DatabaseLock,
    assert_nothing_seen_unsent,
    check_delivered_once,
    fetch,
    prepare_six,
    read_ledger,
    reap_senders,
    start_send,
    wait_for,
)

THREE = ["agents@lab.example", "video@lab.example", "vision@lab.example"]  # tests/data file


@pytest.fixture
def six(workdir: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The six-subscriber database of `test_crash.prepare_six`, the SMTP server running;
    senders reaped after."""
    yield prepare_six(workdir, monkeypatch)
    reap_senders()


def test_second_sender_is_skipped_while_the_first_is_sending(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """A second `send` while another process is sending exits 1 naming that process, touches
    nothing, and every subscriber gets one digest."""
    pause = smtp.pause(2, At.DATA)
    first = start_send()
    wait_for(pause.reached, first, "the first sender's second message")
    before = read_ledger(six)
    assert main(["send", "--date", DAY]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"another newsletter process (pid {first.pid}) is sending" in err
    assert read_ledger(six) == before
    pause.release.set()
    out, _ = first.communicate(timeout=30)
    assert first.returncode == 0, out.decode()
    assert check_delivered_once(smtp, six, list(SIX)) == set()


def test_two_senders_started_together_send_each_digest_once(
    six: Path, smtp: SmtpServer,
) -> None:
    """Two `send` processes started at the same moment deliver every digest exactly once; a
    loser reports the other process."""
    procs = [start_send(), start_send()]
    results = [(p.communicate(timeout=60), p.returncode) for p in procs]
    codes = sorted(code for _, code in results)
    assert codes in ([0, 0], [0, 1]), results
    for (_, err), code in results:
        if code == 1:
            assert "another newsletter process" in " ".join(err.decode().split())
    assert check_delivered_once(smtp, six, list(SIX)) == set()


def _short_timeout_store(db: Path) -> Store:
    """The ledger on a connection that gives up after 0.2 s of `database is locked` (the
    production connection waits 30 s, too long for a test)."""
    connection = sqlite3.connect(db, timeout=0.2, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys=ON")
    return Store(connection, db)


def test_database_busy_while_recording_is_reported_and_retried(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database locked by another connection when the 250 is to be recorded: the run fails
    with a message, nothing is seen without a sent row, and the rerun delivers the rest."""
    monkeypatch.setenv("NEWSLETTER_SMTP_CONNECTIONS", "1")
    fetch(DAY)
    db = workdir / "newsletter.db"
    lock = DatabaseLock(db)
    smtp.at_data(2, lock.acquire)  # the 250 of message 2 comes with the database locked
    settings = load_settings()
    subscribers = load_subscribers(settings.subscribers)
    store = _short_timeout_store(db)
    runner = pipeline.Runner(settings, store, Renderer(settings.templates),
                             make_transport(settings),
                             clock=lambda: dt.datetime(2026, 8, 14, 6, 0, tzinfo=dt.UTC))
    try:
        with pytest.raises(RunError, match=r"could not record .*database is locked"):
            asyncio.run(pipeline.send_day(runner, subscribers, dt.date(2026, 8, 13)))
    finally:
        store.close()
        lock.release()
    assert [r.rcpt_tos for r in smtp.received] == [[THREE[0]], [THREE[1]]]
    ledger = read_ledger(db)
    assert ledger.states == {THREE[0]: "sent", THREE[1]: "sending", THREE[2]: "planned"}
    assert {who for who, _ in ledger.seen} == {THREE[0]}
    assert_nothing_seen_unsent(db)
    assert main(["send", "--date", DAY]) == 0, capsys.readouterr()
    assert check_delivered_once(smtp, db, THREE) == {THREE[1]}
    assert main(["send", "--date", DAY]) == 0
    assert len(smtp.received) == 4
