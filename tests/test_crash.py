"""Crash safety: `newsletter send` killed with SIGKILL at chosen moments, then run again.

The sender runs as a subprocess; the SMTP server runs in the test process and holds the n-th
message at a chosen point (`tests.smtp_server.Pause`) while the test kills the sender. After the
rerun every subscriber has exactly one digest, or the one message in flight twice with the same
Message-ID; `seen` holds exactly the papers of sent digests; the database is intact.

The helpers at the top are shared with `test_concurrency.py` and `test_smtp_faults.py`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.cli import main
from tests.conftest import HF_DAYS
from tests.smtp_server import At, SmtpServer

DAY = "2026-08-13"
TOPICS = ("agents", "video", "diffusion", "benchmark", "3D", "vision-language-action")
# each topic matches papers of DAY
SIX = tuple(f"s{n}@lab.example" for n in range(1, len(TOPICS) + 1))


# --- helpers shared by the fault, crash and concurrency tests ----------------------------------


def write_subscribers(path: Path, topics: dict[str, str], max_papers: int = 5,
                      extra: dict[str, str] | None = None) -> list[str]:
    """A subscribers file with one topic per address (in this order); `extra` adds YAML lines."""
    lines = ["defaults:", f"  max_papers: {max_papers}", "  sources: [hf]", "subscribers:"]
    for email, topic in topics.items():
        lines += [f"  - email: {email}", f'    topics: ["{topic}"]']
        if extra and email in extra:
            lines.append(f"    {extra[email]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(topics)


def fetch(day: str) -> None:
    """Import one recorded Hugging Face day into the database of the current settings."""
    assert main(["fetch", "--file", str(HF_DAYS / f"{day}.json")]) == 0


@dataclass(frozen=True)
class Ledger:
    """What the database says about the digests of one day."""

    states: dict[str, str]  # subscriber → state
    message_ids: dict[str, str]
    attempts: dict[str, int]
    seen: set[tuple[str, str]]  # (subscriber, paper) in `seen`
    sent_papers: set[tuple[str, str]]  # (subscriber, paper) of digests in state `sent`
    papers: dict[str, set[str]]  # subscriber → papers of its digest of the day
    integrity: str


def read_ledger(db: Path, day: str = DAY) -> Ledger:
    with closing(sqlite3.connect(db)) as con:
        rows = con.execute("SELECT subscriber, state, message_id, attempts FROM digests "
                           "WHERE digest_date = ?", (day,)).fetchall()
        seen = set(con.execute("SELECT subscriber, paper_id FROM seen").fetchall())
        sent = set(con.execute(
            "SELECT d.subscriber, p.paper_id FROM digests d JOIN digest_papers p "
            "ON p.digest_id = d.id WHERE d.state = 'sent'").fetchall())
        papers: dict[str, set[str]] = {}
        for subscriber, paper in con.execute(
                "SELECT d.subscriber, p.paper_id FROM digests d JOIN digest_papers p "
                "ON p.digest_id = d.id WHERE d.digest_date = ?", (day,)):
            papers.setdefault(subscriber, set()).add(paper)
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    return Ledger({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows},
                  {r[0]: r[3] for r in rows}, seen, sent, papers, integrity)


def check_delivered_once(server: SmtpServer, db: Path, subscribers: list[str],
                         day: str = DAY) -> set[str]:
    """Every subscriber's digest is `sent` and arrived once (or twice, same Message-ID); `seen`
    is exactly the papers of sent digests; the database is intact. Returns who got it twice."""
    ledger = read_ledger(db, day)
    assert ledger.integrity == "ok"
    assert sorted(ledger.states) == sorted(subscribers)
    twice = set()
    for subscriber in subscribers:
        ids = [r.message_id for r in server.to(subscriber)]
        assert ledger.states[subscriber] == "sent", (subscriber, ledger.states)
        assert ids and set(ids) == {ledger.message_ids[subscriber]}, (subscriber, ids)
        assert len(ids) <= 2, (subscriber, ids)
        if len(ids) == 2:
            twice.add(subscriber)
    assert ledger.seen == ledger.sent_papers
    assert len(server.received) == len(subscribers) + len(twice)
    return twice


def assert_nothing_seen_unsent(db: Path) -> None:
    """Promise 1 at any moment: no paper is seen without a `sent` digest that carried it."""
    ledger = read_ledger(db)
    assert ledger.integrity == "ok"
    assert ledger.seen <= ledger.sent_papers


_SENDERS: list[subprocess.Popen[bytes]] = []


def start_send(*args: str) -> subprocess.Popen[bytes]:
    """`newsletter send` as a real process with the test's environment (NEWSLETTER_* set)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsletter.cli", "send", "--date", DAY, *args],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    _SENDERS.append(proc)
    return proc


def reap_senders() -> None:
    """Kill whatever sender a failed test left running, and close its pipes."""
    while _SENDERS:
        proc = _SENDERS.pop()
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        proc.wait()


def wait_for(event: threading.Event, proc: subprocess.Popen[bytes], what: str,
             timeout: float = 20.0) -> None:
    """Wait for a server-side event while making sure the sender is still alive."""
    deadline = time.monotonic() + timeout
    while not event.wait(0.02):
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the sender exited ({proc.returncode}) before {what}:\n"
                                 f"{out.decode()}\n{err.decode()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no cleanup, no atexit, no flush; the kernel drops the sender's locks."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL


class DatabaseLock:
    """Another connection holding `BEGIN EXCLUSIVE` on the ledger; usable from any thread."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.connection: sqlite3.Connection | None = None

    def acquire(self) -> None:
        self.connection = sqlite3.connect(self.db, timeout=5, isolation_level=None,
                                          check_same_thread=False)
        self.connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self.connection is not None:
            self.connection.execute("ROLLBACK")
            self.connection.close()
            self.connection = None


def wait_until_waiting_for_lock(pid: int, timeout: float = 10.0) -> None:
    """Wait until the sender sleeps in SQLite's busy handler (it got the 250 and tries to record).

    Linux shows where a sleeping process waits in /proc/PID/wchan: SQLite's busy handler in
    nanosleep, an event loop waiting for the relay in epoll ("0" while running). Where wchan
    tells nothing, give the sender a moment instead.
    """
    path = Path(f"/proc/{pid}/wchan")
    start = time.monotonic()
    informative = False
    while time.monotonic() < start + timeout:
        try:
            where = path.read_text().strip()
        except OSError:
            where = ""
        if "nanosleep" in where:
            return
        informative = informative or where not in ("", "0")
        if not informative and time.monotonic() > start + 1.0:
            return
        time.sleep(0.002)
    raise AssertionError(f"the sender never tried to record the 250 (waits in {where})")


# --- fixtures ----------------------------------------------------------------------------------


def prepare_six(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Six subscribers with a digest each on DAY, one SMTP connection (message k = s<k>)."""
    write_subscribers(workdir / "subscribers.yaml", dict(zip(SIX, TOPICS, strict=True)))
    monkeypatch.setenv("NEWSLETTER_SMTP_CONNECTIONS", "1")
    fetch(DAY)
    return workdir / "newsletter.db"


@pytest.fixture
def six(workdir: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The database of `prepare_six`, with the SMTP server running; senders reaped after."""
    yield prepare_six(workdir, monkeypatch)
    reap_senders()


def rerun_twice(capsys: pytest.CaptureFixture[str], server: SmtpServer) -> None:
    """The rerun completes; a third run sends nothing more."""
    capsys.readouterr()
    assert main(["send", "--date", DAY]) == 0, capsys.readouterr()
    capsys.readouterr()
    count = len(server.received)
    assert main(["send", "--date", DAY]) == 0
    assert len(server.received) == count
    assert capsys.readouterr().out.count("already sent") == len(SIX)


# --- tests -------------------------------------------------------------------------------------

POSITIONS = pytest.mark.parametrize("k", [1, 3, 6], ids=["first", "middle", "last"])


@POSITIONS
def test_kill_before_the_250_resends_only_that_digest(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str], k: int,
) -> None:
    """Killed while the relay holds the k-th message unanswered, the rerun re-sends it once
    with the same Message-ID and sends the rest."""
    pause = smtp.pause(k, At.DATA)
    proc = start_send()
    wait_for(pause.reached, proc, f"message {k} at DATA")
    kill(proc)
    pause.release.set()
    after_crash = read_ledger(six)
    assert after_crash.states[SIX[k - 1]] == "sending"
    assert [after_crash.states[s] for s in SIX[: k - 1]] == ["sent"] * (k - 1)
    assert_nothing_seen_unsent(six)
    rerun_twice(capsys, smtp)
    assert check_delivered_once(smtp, six, list(SIX)) == {SIX[k - 1]}


@POSITIONS
def test_kill_after_the_250_was_recorded_sends_no_duplicate(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str], k: int,
) -> None:
    """Killed right after the k-th 250 was recorded (at the sender's next command), the rerun
    sends every other digest once and nothing twice."""
    pause = smtp.pause(k, At.NEXT)
    proc = start_send()
    wait_for(pause.reached, proc, f"the command after message {k}")
    kill(proc)
    pause.release.set()
    after_crash = read_ledger(six)
    assert [after_crash.states[s] for s in SIX[:k]] == ["sent"] * k
    assert_nothing_seen_unsent(six)
    rerun_twice(capsys, smtp)
    assert check_delivered_once(smtp, six, list(SIX)) == set()


def test_kill_between_the_250_and_the_commit_resends_with_same_message_id(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Killed after the relay's 250 reached the sender but before the sender could record it
    (the database is locked), the rerun re-sends that digest with the same Message-ID."""
    lock = DatabaseLock(six)
    pause = smtp.pause(3, At.REPLY, action=lock.acquire)
    proc = start_send()
    try:
        wait_for(pause.reached, proc, "the 250 of message 3")
        wait_until_waiting_for_lock(proc.pid)
        kill(proc)
    finally:
        lock.release()
        pause.release.set()
    after_crash = read_ledger(six)
    assert after_crash.states[SIX[2]] == "sending"
    assert not any(who == SIX[2] for who, _ in after_crash.seen)
    assert_nothing_seen_unsent(six)
    rerun_twice(capsys, smtp)
    assert check_delivered_once(smtp, six, list(SIX)) == {SIX[2]}


def test_kill_while_planning_leaves_no_partial_plan(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Killed in the middle of planning (inside the fifth subscriber's plan transaction), the
    rerun plans the rest without a duplicate row and sends each digest once."""
    with closing(sqlite3.connect(six)) as con:
        # Make the fifth plan slow from the inside: a trigger computes a huge cross join.
        con.execute("CREATE TABLE burn (x)")
        con.executemany("INSERT INTO burn VALUES (?)", [(n,) for n in range(1000)])
        con.execute(f"CREATE TRIGGER slow BEFORE INSERT ON digests WHEN NEW.subscriber = "
                    f"'{SIX[4]}' BEGIN SELECT count(*) FROM burn a, burn b, burn c; END")
        con.commit()
    proc = start_send()
    deadline = time.monotonic() + 20
    while len(read_ledger(six).states) < 4:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "four digests were never planned"
        time.sleep(0.01)
    kill(proc)
    with closing(sqlite3.connect(six)) as con:
        con.execute("DROP TRIGGER slow")
        con.execute("DROP TABLE burn")
        con.commit()
    after_crash = read_ledger(six)
    assert after_crash.states == dict.fromkeys(SIX[:4], "planned")
    assert smtp.handler.connections == 0 and smtp.received == []
    rerun_twice(capsys, smtp)
    assert check_delivered_once(smtp, six, list(SIX)) == set()


def test_kill_while_waiting_for_the_greeting_sends_each_once(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Killed after planning while the relay is slow to greet, the rerun sends each digest once
    from the existing plan."""
    smtp.handler.greeting_delay = 30
    proc = start_send()
    wait_for(smtp.handler.greeted, proc, "the connection to the relay")
    kill(proc)
    smtp.handler.greeting_delay = 0
    after_crash = read_ledger(six)
    # The first digest was marked in flight before connecting; the rest are planned.
    assert after_crash.states == {SIX[0]: "sending"} | dict.fromkeys(SIX[1:], "planned")
    assert smtp.received == []
    rerun_twice(capsys, smtp)
    assert check_delivered_once(smtp, six, list(SIX)) == set()
    assert read_ledger(six).message_ids == after_crash.message_ids


def test_kill_with_two_connections_duplicates_at_most_one_per_connection(
    six: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With two connections (opened only after the first message went through), a crash can
    leave one message in flight per connection: each arrives at most twice, same Message-ID."""
    monkeypatch.setenv("NEWSLETTER_SMTP_CONNECTIONS", "2")
    pauses = [smtp.pause(2, At.DATA), smtp.pause(3, At.DATA)]
    proc = start_send()
    for pause in pauses:
        wait_for(pause.reached, proc, f"message {pause.number} at DATA")
    kill(proc)
    for pause in pauses:
        pause.release.set()
    rerun_twice(capsys, smtp)
    twice = check_delivered_once(smtp, six, list(SIX))
    assert len(twice) <= 2, f"{sorted(twice)} each received their digest twice"
    assert smtp.handler.connections >= 2
