"""The daemon on an injected clock: catch-up, restarts, DST, time zones, weekly, overruns, stops."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import typer

from newsletter.cli_serve import serve, status
from newsletter.config import Settings, load_settings
from newsletter.daemon import Daemon
from newsletter.daemon_status import status_report
from newsletter.errors import ConfigError
from newsletter.fetching import FetchReport, import_files
from newsletter.locking import send_lock
from newsletter.models import DigestState, Source
from newsletter.schedule import next_tick
from newsletter.scheduler import RuleTrigger, Scheduler
from newsletter.store import DigestRow, Store
from tests.conftest import HF_DAYS
from tests.smtp_server import SmtpServer, free_port

UTC = dt.UTC
SEND = dt.datetime(2026, 8, 14, 5, 30, tzinfo=UTC)  # 07:30 in Berlin: the digest of 13 August
DAY = dt.date(2026, 8, 13)
TOPICS = '["LLM agents", "video", "diffusion", "benchmark", "3D world", "safety"]'


class FakeClock:
    """The daemon's clock: it moves only when the test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class FakeFetcher:
    """Stands in for `fetching.fetch_sources`: records what was asked, fetches nothing."""

    def __init__(self, error: str | None = None, crash: bool = False) -> None:
        self.calls: list[tuple[Source, dt.date]] = []
        self.error, self.crash = error, crash

    def __call__(self, store: Store, settings: Settings, sources: Iterable[Source],
                 day: dt.date, categories: Sequence[str], clock: Any) -> list[FetchReport]:
        wanted = list(sources)
        self.calls += [(source, day) for source in wanted]
        if self.crash:
            raise RuntimeError("unexpected")
        return [FetchReport(s, s.value, day, error=self.error) for s in wanted]


def papers(workdir: Path, *days: tuple[str, dt.date]) -> None:
    """Store recorded Hugging Face days (fixture file name, listing day to file them under)."""
    with Store.open(workdir / "newsletter.db") as store:
        for name, day in days:
            import_files(store, [HF_DAYS / f"{name}.json"], day, FakeClock(SEND))


def subscribers(workdir: Path, *entries: str, defaults: str = "") -> None:
    lines = ["defaults: {" + defaults + "}", "subscribers:"] + [f"  - {e}" for e in entries]
    (workdir / "subscribers.yaml").write_text("\n".join(lines) + "\n")


def started(clock: FakeClock, fetcher: FakeFetcher | None = None) -> Daemon:
    daemon = Daemon(load_settings(), clock, fetcher=fetcher or FakeFetcher())
    daemon.start()
    return daemon


def run_ticks(daemon: Daemon, clock: FakeClock, start: dt.datetime, end: dt.datetime,
              step: dt.timedelta = dt.timedelta(minutes=1)) -> None:
    """Tick at every step in [start, end), as the scheduler would."""
    clock.now = start
    while clock.now < end:
        daemon.tick()
        clock.now += step


def sent(workdir: Path) -> list[DigestRow]:
    with Store.open(workdir / "newsletter.db") as store:
        return [r for r in store.history(limit=1000) if r.state is DigestState.SENT]


def outbox(workdir: Path) -> int:
    folder = workdir / "outbox" / "new"
    return len(list(folder.iterdir())) if folder.exists() else 0


def lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(start)]


@pytest.fixture
def three(workdir: Path) -> Path:
    """The three Berlin subscribers of `tests/data` (07:30, daily) and the papers of 13 August."""
    papers(workdir, ("2026-08-13", DAY))
    return workdir


# --- restarts and catch-up -----------------------------------------------------------------------


def test_down_at_send_time_then_restarted_sends_one_digest(
    three: Path, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Down at 07:30, back at 10:30: the catch-up sends one digest each, later ticks none."""
    caplog.set_level(logging.INFO, logger="newsletter")
    papers(three, ("2026-08-19", DAY - dt.timedelta(days=1)))
    clock = FakeClock(SEND - dt.timedelta(days=1))
    started(clock).tick()  # yesterday's digests, sent on time
    assert len(smtp.received) == 3
    fetcher, clock = FakeFetcher(), FakeClock(SEND + dt.timedelta(hours=3))
    daemon = started(clock, fetcher)
    daemon.catch_up()
    run_ticks(daemon, clock, clock.now + dt.timedelta(minutes=1),
              SEND + dt.timedelta(days=1) - dt.timedelta(minutes=1), dt.timedelta(minutes=10))
    today = [r for r in sent(three) if r.digest_date == DAY]
    assert sorted(r.subscriber for r in today) == [
        "agents@lab.example", "video@lab.example", "vision@lab.example"]
    assert len(smtp.received) == 6 and fetcher.calls  # fetched before catching up
    assert lines(caplog, "event=catch-up due=3 days=2026-08-13")


def test_restarted_after_a_send_sends_nothing(three: Path, smtp: SmtpServer) -> None:
    """A restart ten minutes after the send finds every digest sent and fetches nothing."""
    started(FakeClock(SEND)).tick()
    fetcher, clock = FakeFetcher(), FakeClock(SEND + dt.timedelta(minutes=10))
    daemon = started(clock, fetcher)
    assert daemon.catch_up() == []
    run_ticks(daemon, clock, clock.now, SEND + dt.timedelta(hours=23), dt.timedelta(minutes=10))
    assert len(smtp.received) == 3 and fetcher.calls == []


def test_catch_up_with_nothing_due_does_not_fetch(three: Path) -> None:
    """Started before anyone's send time with yesterday's digests handled: no fetch, no send."""
    started(FakeClock(SEND - dt.timedelta(minutes=1))).tick()  # handles yesterday's (empty)
    fetcher = FakeFetcher()
    daemon = started(FakeClock(SEND - dt.timedelta(seconds=5)), fetcher)
    assert daemon.catch_up() == [] and fetcher.calls == [] and outbox(three) == 0


# --- DST, time zones, frequencies --------------------------------------------------------------


@pytest.mark.parametrize(("listing", "start", "expected"), [
    (dt.date(2026, 3, 28), dt.datetime(2026, 3, 28, 23, tzinfo=UTC),
     dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),   # 02:30 does not exist: 03:00 CEST
    (dt.date(2026, 10, 24), dt.datetime(2026, 10, 24, 23, tzinfo=UTC),
     dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # 02:30 happens twice: the first, CEST
], ids=["spring-forward", "fall-back"])
def test_dst_night_in_berlin_gives_exactly_one_digest(
    workdir: Path, listing: dt.date, start: dt.datetime, expected: dt.datetime
) -> None:
    """Ticking every minute through a DST night, a 02:30 Berlin subscriber gets one digest."""
    subscribers(workdir, f"{{email: night@lab.example, topics: {TOPICS}}}",
                defaults='timezone: Europe/Berlin, send_at: "02:30"')
    papers(workdir, ("2026-08-13", listing))
    clock = FakeClock(start)
    run_ticks(started(clock), clock, start, start + dt.timedelta(hours=4))
    [row] = sent(workdir)
    assert (row.digest_date, row.sent_at) == (listing, expected)
    assert outbox(workdir) == 1


def test_two_time_zones_on_the_same_day(workdir: Path) -> None:
    """On one UTC day, Los Angeles gets its digest at 14:30 UTC and Tokyo at 22:30 UTC."""
    subscribers(workdir, f"{{email: la@lab.example, timezone: America/Los_Angeles, "
                         f"topics: {TOPICS}}}",
                f"{{email: tokyo@lab.example, timezone: Asia/Tokyo, topics: {TOPICS}}}")
    papers(workdir, ("2026-08-19", DAY - dt.timedelta(days=1)), ("2026-08-13", DAY))
    midnight = dt.datetime(2026, 8, 13, tzinfo=UTC)
    clock = FakeClock(midnight - dt.timedelta(minutes=10))
    daemon = started(clock)
    daemon.tick()  # the daemon was already running: Tokyo's digest of the 12th is out
    before = {(r.subscriber, r.digest_date) for r in sent(workdir)}
    run_ticks(daemon, clock, midnight, midnight + dt.timedelta(days=1), dt.timedelta(minutes=10))
    new = sorted((r.subscriber, r.digest_date, r.sent_at) for r in sent(workdir)
                 if (r.subscriber, r.digest_date) not in before)
    assert new == [
        ("la@lab.example", DAY - dt.timedelta(days=1), midnight + dt.timedelta(hours=14.5)),
        ("tokyo@lab.example", DAY, midnight + dt.timedelta(hours=22.5)),
    ]


def test_weekly_digest_goes_once_on_its_day_with_the_week(workdir: Path) -> None:
    """A Friday weekly digest goes out once that week, Friday 07:30, with the week's papers."""
    subscribers(workdir, f"{{email: weekly@lab.example, frequency: weekly, day: friday, "
                         f"max_papers: 50, topics: {TOPICS}}}",
                defaults="timezone: Europe/Berlin")
    monday = dt.date(2026, 8, 10)
    papers(workdir, ("2026-08-19", monday), ("2026-08-13", DAY))
    start = dt.datetime(2026, 8, 10, tzinfo=UTC)
    clock = FakeClock(start)
    run_ticks(started(clock), clock, start, start + dt.timedelta(days=7),
              dt.timedelta(minutes=30))
    [row] = sent(workdir)
    assert (row.digest_date, row.window_start, row.sent_at) == (DAY, dt.date(2026, 8, 7), SEND)
    with Store.open(workdir / "newsletter.db") as store:
        listed = {r.paper.listed_on for r in store.digest_papers(row.id)}
    assert listed == {monday, DAY}


# --- overruns, locks, stops ----------------------------------------------------------------------


class _Seen(logging.Handler):
    """Sets an event when a log line starting with `prefix` is emitted (from any thread)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix, self.event = prefix, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.event.set()


@pytest.fixture
def skipped() -> Iterator[_Seen]:
    handler = _Seen("event=skipped job=tick")
    logging.getLogger("newsletter.scheduler").addHandler(handler)
    yield handler
    logging.getLogger("newsletter.scheduler").removeHandler(handler)


def test_overrunning_tick_is_skipped_and_logged(
    three: Path, smtp: SmtpServer, skipped: _Seen
) -> None:
    """A tick still sending when the next one fires: the second is skipped, nothing doubles."""
    entered, release = threading.Event(), threading.Event()
    inner = smtp.handler.handle_DATA

    async def slow(server: object, session: object, envelope: object) -> str:
        entered.set()
        await asyncio.to_thread(release.wait, 10)
        return await inner(server, session, envelope)

    smtp.handler.handle_DATA = slow  # type: ignore[method-assign]
    daemon, scheduler = started(FakeClock(SEND)), Scheduler()
    daemon.schedule_jobs(scheduler)
    try:
        scheduler.run_now("tick")
        assert entered.wait(10)
        scheduler.run_now("tick")
        assert skipped.event.wait(10)
    finally:
        release.set()
        scheduler.shutdown()
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "agents@lab.example", "video@lab.example", "vision@lab.example"]


def test_triggers_follow_the_daemon_clock_and_survive_a_failing_rule() -> None:
    """Rules see the daemon's (shifted) clock; a rule that raises retries in a minute."""
    real = dt.datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)
    trigger = RuleTrigger(next_tick, SEND - dt.timedelta(seconds=5) - real)
    assert trigger.get_next_fire_time(None, real) == real + dt.timedelta(seconds=5)
    assert trigger.get_next_fire_time(real + dt.timedelta(seconds=5), real) == \
        real + dt.timedelta(seconds=65)

    def broken(after: dt.datetime) -> dt.datetime:
        raise ValueError("bug")

    assert RuleTrigger(broken, dt.timedelta(0)).get_next_fire_time(None, real) == \
        real + dt.timedelta(minutes=1)


def test_tick_skipped_while_a_cron_send_holds_the_lock(
    three: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While `newsletter send` holds the lock the tick sends nothing; the next tick does."""
    caplog.set_level(logging.INFO, logger="newsletter")
    clock = FakeClock(SEND)
    daemon = started(clock)
    with send_lock(three / "newsletter.db"):
        assert daemon.tick() == []
    assert lines(caplog, "event=send status=skipped")
    clock.now += dt.timedelta(minutes=1)
    assert daemon.tick() and outbox(three) == 3


def test_stop_finishes_the_message_in_flight(
    three: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stop during a send lets that message finish and be recorded; a restart sends the rest."""
    caplog.set_level(logging.INFO, logger="newsletter")
    monkeypatch.setenv("NEWSLETTER_SMTP_CONNECTIONS", "1")
    daemon = started(FakeClock(SEND))
    inner = smtp.handler.handle_DATA

    async def stop_now(server: object, session: object, envelope: object) -> str:
        daemon.stop()  # as SIGTERM would, while this message is in flight
        return await inner(server, session, envelope)

    smtp.handler.handle_DATA = stop_now  # type: ignore[method-assign]
    daemon.tick()
    assert [r.subscriber for r in sent(three)] == ["agents@lab.example"]
    assert lines(caplog, 'event=send status=stopped left=2 detail="sent at the next start"')
    smtp.handler.handle_DATA = inner  # type: ignore[method-assign]
    started(FakeClock(SEND + dt.timedelta(minutes=2))).catch_up()
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "agents@lab.example", "video@lab.example", "vision@lab.example"]


def test_relay_down_defers_with_one_line_and_pauses(
    three: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A closed relay port: one `deferred` line, then no attempt until the pause is over."""
    caplog.set_level(logging.INFO, logger="newsletter.daemon")
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(free_port())),
                        ("SECURITY", "none"), ("TIMEOUT", "2")):
        monkeypatch.setenv(f"NEWSLETTER_SMTP_{name}", value)
    clock = FakeClock(SEND)
    daemon = started(clock)
    daemon.tick()
    [line] = lines(caplog, "event=send status=deferred")
    assert "count=3" in line and "retry_at=2026-08-14T05:35:00+00:00" in line
    clock.now += dt.timedelta(minutes=1)
    assert daemon.tick() == []  # paused: no connection attempt
    clock.now += dt.timedelta(minutes=5)
    daemon.tick()
    assert len(lines(caplog, "event=send status=deferred")) == 2


# --- configuration -------------------------------------------------------------------------------


def test_bad_edit_keeps_the_last_good_file_and_logs_where(
    three: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken edit is logged with file:line:col and the last good file keeps sending."""
    caplog.set_level(logging.INFO, logger="newsletter")
    clock = FakeClock(SEND - dt.timedelta(minutes=5))
    daemon = started(clock)
    path = three / "subscribers.yaml"
    good = path.read_text()
    path.write_text(good + "  - email: new@lab.example\n    topcs: [x]\n")
    clock.now = SEND
    daemon.tick()
    [error] = lines(caplog, "event=subscribers status=error")
    assert f"{path}:" in error and "unknown key `topcs`" in error
    assert outbox(three) == 3
    daemon.tick()
    assert len(lines(caplog, "event=subscribers status=error")) == 1  # logged once
    path.write_text(good + f"  - {{email: new@lab.example, topics: {TOPICS}}}\n")
    clock.now += dt.timedelta(minutes=1)
    daemon.tick()
    assert lines(caplog, "event=subscribers status=reloaded")
    assert outbox(three) == 4 and len(daemon.subscribers) == 4


def test_broken_template_fails_at_start(three: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template that does not render stops the daemon at start, before the database."""
    folder = three / "templates"
    folder.mkdir()
    (folder / "digest.txt").write_text("{{ papers | no_such_filter }}\n")
    monkeypatch.setenv("NEWSLETTER_TEMPLATES", str(folder))
    (three / "newsletter.db").unlink()
    with pytest.raises(ConfigError, match=r"digest\.txt"):
        started(FakeClock(SEND))
    assert not (three / "newsletter.db").exists()


# --- fetches -------------------------------------------------------------------------------------


def test_fetch_failures_are_logged_and_the_daemon_goes_on(
    three: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing source gives one structured line; a crashing fetch is logged, not raised."""
    caplog.set_level(logging.INFO, logger="newsletter")
    daemon = started(FakeClock(SEND), FakeFetcher(error="HTTP 503 five times"))
    daemon.fetch_hf()
    assert lines(caplog, 'event=fetch source=hf day=2026-08-14 status=error '
                         'detail="HTTP 503 five times"')
    daemon.fetcher = FakeFetcher(crash=True)
    daemon.guarded("fetch", daemon.fetch_hf)()
    assert lines(caplog, "event=fetch status=crashed")


def test_a_damaged_ledger_is_one_clear_line_per_job(
    three: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that fails when read is logged as what it is, with the file and what to do,
    not as a crash with a traceback; the daemon goes on (to say it again next time)."""
    caplog.set_level(logging.INFO, logger="newsletter")
    daemon = started(FakeClock(SEND))

    def malformed() -> None:
        with sqlite3.connect(three / "damaged.db") as connection:
            connection.execute("SELECT 1 FROM papers")

    (three / "damaged.db").write_bytes(b"not a database" * 100)
    daemon.guarded("tick", malformed)()
    assert not lines(caplog, "event=tick status=crashed")
    assert lines(caplog, f'event=tick status=error detail="{three / "newsletter.db"}: cannot '
                         "read the database: ")


def test_other_database_errors_are_crashes_with_their_traceback(
    three: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock or a misuse is not read as damage: it is logged as the crash it is."""
    caplog.set_level(logging.INFO, logger="newsletter")
    daemon = started(FakeClock(SEND))

    def misused() -> None:
        raise sqlite3.ProgrammingError("Cannot operate on a closed database.")

    daemon.guarded("tick", misused)()
    assert lines(caplog, "event=tick status=crashed")
    assert not lines(caplog, "event=tick status=error")


def test_hf_fetch_backfills_the_days_the_daemon_missed(three: Path) -> None:
    """The hourly fetch asks for yesterday, today and each unfetched day of the past week."""
    fetcher = FakeFetcher()
    started(FakeClock(SEND), fetcher).fetch_hf()
    assert [day.day for _, day in fetcher.calls] == [8, 9, 10, 11, 12, 13, 14]


# --- status ------------------------------------------------------------------------------------


def test_status_shows_next_sends_fetches_and_last_run(three: Path) -> None:
    """After the morning's send: next send tomorrow 07:30 CEST, last digest sent, 3 sent."""
    started(FakeClock(SEND)).tick()
    settings = load_settings()
    report = status_report(settings, Daemon(settings).file.load(), SEND + dt.timedelta(hours=1))
    first = report.subscribers[0]
    assert first.next_send is not None and not first.due_now
    assert (first.next_send.at, first.next_send.digest_day) == (
        SEND + dt.timedelta(days=1), DAY + dt.timedelta(days=1))
    assert first.last is not None and first.last.state is DigestState.SENT
    assert report.next_fetches == (("hf", dt.datetime(2026, 8, 14, 7, tzinfo=UTC)),)
    assert (report.last_day, report.last_states) == (DAY, (("sent", 3),))


def test_status_command_prints_the_plan(three: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`newsletter status` before any digest: everyone is due now, then at the next send time."""
    app = typer.Typer()
    app.command()(serve)
    app.command()(status)
    with pytest.raises(SystemExit) as exit_:
        app(args=["status"], prog_name="newsletter")
    printed = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "agents@lab.example: due now (catch-up), then next send " in printed
    assert "next fetch hf: " in printed
    assert "last run: no digests yet" in printed and "fetch hf for" not in printed
