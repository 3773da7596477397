"""SMTP faults end to end: what the relay says decides what the ledger records.

A real aiosmtpd server on 127.0.0.1 refuses, defers, drops, stays silent, offers or lacks TLS,
refuses the login; the sender runs through `newsletter.cli.main` (exit codes, messages) or
through `pipeline.send_day` with an injected clock (retry timing).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from newsletter import pipeline
from newsletter.cli import main
from newsletter.config import load_settings
from newsletter.delivery import make_transport
from newsletter.render import Renderer
from newsletter.store import Store
from newsletter.subscribers import load_subscribers
from tests.smtp_server import Fault, SmtpServer, free_port
from tests.test_crash import DAY, check_delivered_once, fetch, read_ledger, write_subscribers

if TYPE_CHECKING:
    from tests.tls_certs import Authority

AGENTS, VIDEO, VISION = THREE = ["agents@lab.example", "video@lab.example", "vision@lab.example"]
T0 = dt.datetime(2026, 8, 14, 6, 0, tzinfo=dt.UTC)
PASSWORD = "s3cret-Pa55word-never-printed"


def _send_at(now: dt.datetime, day: str = DAY) -> dict[str, pipeline.SubscriberResult]:
    """One `send` of `day` through the pipeline with the clock at `now`; results by address."""
    settings = load_settings()
    subscribers = load_subscribers(settings.subscribers)
    with Store.open(settings.db) as store:
        runner = pipeline.Runner(settings, store, Renderer(settings.templates),
                                 make_transport(settings), clock=lambda: now,
                                 connect=lambda: make_transport(settings))
        report = asyncio.run(pipeline.send_day(runner, subscribers, dt.date.fromisoformat(day)))
    return {r.email: r for r in report.results}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The CLI in-process: exit code, stdout, stderr (whitespace normalised for wrapped lines)."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, " ".join(captured.err.split())


def _row(db: Path, subscriber: str, day: str = DAY) -> sqlite3.Row:
    with closing(sqlite3.connect(db)) as con:
        con.row_factory = sqlite3.Row
        row: sqlite3.Row | None = con.execute(
            "SELECT * FROM digests WHERE subscriber = ? AND digest_date = ?", (subscriber, day)
        ).fetchone()
    assert row is not None, (subscriber, day)
    return row


def _bounces(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as con:
        return dict(con.execute("SELECT subscriber, hard_bounces FROM subscriber_state"))


def _seen(db: Path, subscriber: str) -> set[str]:
    with closing(sqlite3.connect(db)) as con:
        return {r[0] for r in con.execute("SELECT paper_id FROM seen WHERE subscriber = ?",
                                          (subscriber,))}


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Authority:
    """A test CA that the sender trusts (SSL_CERT_FILE points at its bundle)."""
    pytest.importorskip("trustme")
    from tests.tls_certs import make_authority

    ca = make_authority(tmp_path, "trusted")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.bundle))
    return ca


def _tls_env(monkeypatch: pytest.MonkeyPatch, server: SmtpServer, security: str,
             password: str = PASSWORD) -> None:
    monkeypatch.setenv("NEWSLETTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(server.port))
    monkeypatch.setenv("NEWSLETTER_SMTP_SECURITY", security)
    monkeypatch.setenv("NEWSLETTER_SMTP_TIMEOUT", "5")
    monkeypatch.setenv("NEWSLETTER_SMTP_USERNAME", "digest")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", password)


@pytest.fixture
def tls_server(request: pytest.FixtureRequest, authority: Authority) -> Iterator[SmtpServer]:
    """A relay with a certificate from `authority`: STARTTLS or implicit TLS, login required."""
    context = authority.server_context()
    kind = request.param
    with SmtpServer(("digest", PASSWORD), starttls=context if kind == "starttls" else None,
                    implicit_tls=context if kind == "tls" else None) as server:
        yield server


def _assert_nothing_recorded(db: Path) -> None:
    """No digest sent or failed, nothing seen, no bounce: the run changed nothing that counts."""
    ledger = read_ledger(db)
    assert ledger.integrity == "ok"
    assert not {"sent", "failed"} & set(ledger.states.values()), ledger.states
    assert ledger.seen == set()
    assert not any(_bounces(db).values())


# --- 4xx: retry later ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [
    Fault("RCPT", "451 4.3.0 try later"),
    Fault("DATA", "451 4.3.0 try later"),
    Fault("RCPT", "552 5.2.2 mailbox full"),
], ids=["rcpt-451", "data-451", "rcpt-552"])
def test_temporary_refusal_is_retried_with_backoff_and_same_message_id(
    workdir: Path, smtp: SmtpServer, fault: Fault,
) -> None:
    """A 4xx (or RCPT 552) for the third subscriber: the others are sent and marked; the third
    waits with exponential backoff, its papers unseen, and is finally sent with its Message-ID."""
    fetch(DAY)
    db = workdir / "newsletter.db"
    smtp.fail_to(VISION, fault)
    results = _send_at(T0)
    assert [results[a].status for a in THREE] == ["sent", "sent", "retry"]
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [AGENTS, VIDEO]
    first = _row(db, VISION)
    assert first["state"] == "retry" and first["attempts"] == 1
    assert first["last_reply"] == fault.reply
    wait = dt.datetime.fromisoformat(first["next_attempt_at"]) - T0
    assert dt.timedelta(minutes=4) <= wait <= dt.timedelta(minutes=6)
    assert _seen(db, VISION) == set() and _seen(db, AGENTS) and _seen(db, VIDEO)

    assert _send_at(T0 + dt.timedelta(minutes=1))[VISION].status == "retry"
    assert len(smtp.received) == 2 and _row(db, VISION)["attempts"] == 1

    second_try = dt.datetime.fromisoformat(first["next_attempt_at"])
    assert _send_at(second_try)[VISION].status == "retry"
    second = _row(db, VISION)
    wait = dt.datetime.fromisoformat(second["next_attempt_at"]) - second_try
    assert second["attempts"] == 2
    assert dt.timedelta(minutes=8) <= wait <= dt.timedelta(minutes=12)

    smtp.fail_to(VISION, None)
    results = _send_at(dt.datetime.fromisoformat(second["next_attempt_at"]))
    assert results[VISION].status == "sent"
    assert [r.message_id for r in smtp.to(VISION)] == [first["message_id"]]
    assert check_delivered_once(smtp, db, THREE) == set()


def test_history_shows_state_attempts_and_last_reply(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """`newsletter history EMAIL` answers "why no email today?": retry, 1 try, the relay's reply."""
    fetch(DAY)
    smtp.fail_to(VISION, Fault("DATA", "451 4.3.0 try later"))
    code, out, _ = _run(capsys, "send", "--date", DAY)
    assert code == 0, out
    assert f"{VISION}: retry (451 4.3.0 try later; next attempt" in out
    code, out, _ = _run(capsys, "history", VISION)
    assert code == 0
    line = next(line for line in out.splitlines() if DAY in line)
    cells = [cell.strip() for cell in line.strip(" │|").split("│")]
    assert cells[:4] == [DAY, VISION, "retry", "1"], out
    row = _row(workdir / "newsletter.db", VISION)
    assert f"{DAY}: retry, Message-ID {row['message_id']}" in out
    assert re.search(r"attempt 1 at [-\d :]+ UTC: retry \(451 4\.3\.0 try later\)$", out, re.M), out
    assert AGENTS not in out
    assert len(smtp.received) == 2


def test_unsent_digest_expires_and_its_papers_roll_into_the_next(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """A digest still waiting for a retry when the next day is planned expires, and its unseen
    papers come in the next digest (the window reaches back to the last sent one)."""
    db = workdir / "newsletter.db"
    write_subscribers(workdir / "subscribers.yaml", {AGENTS: "agents"}, max_papers=30)
    days = ["2025-08-27", "2025-08-28", "2025-08-29"]
    fetch(days[0])
    assert _run(capsys, "send", "--date", days[0])[0] == 0
    fetch(days[1])
    smtp.fail_to(AGENTS, Fault("RCPT", "451 4.3.0 try later"))
    assert _run(capsys, "send", "--date", days[1])[0] == 0
    assert _row(db, AGENTS, days[1])["state"] == "retry"
    smtp.fail_to(AGENTS, None)
    fetch(days[2])
    assert _run(capsys, "send", "--date", days[2])[0] == 0
    expired, latest = _row(db, AGENTS, days[1]), _row(db, AGENTS, days[2])
    assert expired["state"] == "expired" and latest["state"] == "sent"
    assert latest["window_start"] == days[1]
    rolled, fresh = (read_ledger(db, day).papers[AGENTS] for day in days[1:])
    assert rolled and rolled <= fresh
    assert [r.message_id for r in smtp.to(AGENTS)] == [
        _row(db, AGENTS, days[0])["message_id"], latest["message_id"]]
    assert rolled <= _seen(db, AGENTS)


# --- 5xx: bounces --------------------------------------------------------------------------------


def test_hard_bounces_disable_a_subscriber_and_a_success_resets_the_count(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Three 550s in a row disable a subscriber (logged; later sends say `disabled`); a 250 in
    between starts the count again."""
    db = workdir / "newsletter.db"
    gone, flaky = "gone@lab.example", "flaky@lab.example"
    write_subscribers(workdir / "subscribers.yaml", {gone: "agents", flaky: "benchmark"})
    bounce = Fault("RCPT", "550 5.1.1 no such user")
    smtp.fail_to(gone, bounce)
    days = ["2025-08-25", "2025-08-26", "2025-08-27", "2025-08-28", "2025-08-29"]
    flaky_bounces = {days[0], days[1], days[3], days[4]}
    outputs = {}
    for day in days:
        fetch(day)
        smtp.fail_to(flaky, bounce if day in flaky_bounces else None)
        outputs[day] = _run(capsys, "send", "--date", day)
    assert f"{gone} disabled after 3 hard bounces in a row" in outputs[days[2]][2]
    for day in days[:3]:
        assert f"{gone}: failed (550 5.1.1 no such user)" in outputs[day][1]
        assert _row(db, gone, day)["state"] == "failed"
    for day in days[3:]:
        assert f"{gone}: disabled (3 hard bounces in a row)" in outputs[day][1]
    assert smtp.to(gone) == []
    assert [day for day in days if _row(db, flaky, day)["state"] == "sent"] == [days[2]]
    assert len(smtp.to(flaky)) == 1
    assert _bounces(db) == {gone: 3, flaky: 2}
    assert "flaky@lab.example: disabled" not in outputs[days[4]][1]
    assert _seen(db, gone) == set()
    assert _seen(db, flaky) == read_ledger(db, days[2]).papers[flaky]


def test_hard_bounce_limit_is_a_setting(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NEWSLETTER_HARD_BOUNCE_LIMIT=1 disables a subscriber at the first 5xx; others unaffected."""
    monkeypatch.setenv("NEWSLETTER_HARD_BOUNCE_LIMIT", "1")
    fetch(DAY)
    smtp.fail_to(VIDEO, Fault("DATA", "554 5.7.1 rejected"))
    _, out, err = _run(capsys, "send", "--date", DAY)
    assert f"{VIDEO} disabled after 1 hard bounces in a row" in err
    assert f"{VIDEO}: failed (554 5.7.1 rejected)" in out
    assert _bounces(workdir / "newsletter.db") == {VIDEO: 1}
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [AGENTS, VISION]
    assert read_ledger(workdir / "newsletter.db").states == {
        AGENTS: "sent", VIDEO: "failed", VISION: "sent"}
    _, out, _ = _run(capsys, "send", "--date", DAY)
    assert f"{VIDEO}: disabled (1 hard bounces in a row)" in out
    assert len(smtp.received) == 2


# --- relay down: defer the run ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["port closed", "421 greeting", "no banner"])
def test_relay_down_defers_the_run_and_the_rerun_sends_each_once(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    """A relay that is down defers the run (exit 1, one log line, no bounce, nothing failed or
    seen); once it is back, each digest is sent exactly once."""
    fetch(DAY)
    db = workdir / "newsletter.db"
    if how == "port closed":
        monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(free_port()))
    elif how == "421 greeting":
        smtp.handler.greeting = "421 4.3.2 Service not available, closing channel"
    else:
        smtp.handler.greeting_delay = 3
        monkeypatch.setenv("NEWSLETTER_SMTP_TIMEOUT", "0.5")
    code, out, err = _run(capsys, "send", "--date", DAY)
    assert code == 1
    assert all(f"{address}: deferred (" in out for address in THREE), out
    assert err.count("relay down, run deferred") == 1, err
    assert smtp.received == []
    _assert_nothing_recorded(db)
    assert set(read_ledger(db).states.values()) <= {"retry", "planned"}

    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(smtp.port))
    smtp.handler.greeting, smtp.handler.greeting_delay = None, 0
    code, out, _ = _run(capsys, "send", "--date", DAY)
    assert code == 0, out
    assert check_delivered_once(smtp, db, THREE) == set()


# --- authentication and TLS: stop with a clear message ------------------------------------------


@pytest.mark.parametrize("tls_server", ["starttls"], indirect=True)
def test_refused_login_stops_once_without_printing_the_password(
    workdir: Path, tls_server: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """535: exit 1 naming the two settings, the password nowhere in the output, one AUTH per
    run, nothing sent; with the right password the rerun sends each digest once."""
    fetch(DAY)
    db = workdir / "newsletter.db"
    _tls_env(monkeypatch, tls_server, "starttls", password="wrong-" + PASSWORD)
    code, out, err = _run(capsys, "send", "--date", DAY)
    assert code == 1
    assert "NEWSLETTER_SMTP_USERNAME" in err and "NEWSLETTER_SMTP_PASSWORD" in err
    assert PASSWORD not in out + err
    assert tls_server.handler.auth_attempts == 1
    assert tls_server.received == [] and tls_server.handler.count == 0
    _assert_nothing_recorded(db)

    _tls_env(monkeypatch, tls_server, "starttls")
    assert _run(capsys, "send", "--date", DAY)[0] == 0
    assert check_delivered_once(tls_server, db, THREE) == set()


def test_starttls_required_but_not_offered_sends_nothing_in_clear(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NEWSLETTER_SMTP_SECURITY=starttls against a relay without STARTTLS stops the run before
    any login or message goes over the plain connection."""
    fetch(DAY)
    with SmtpServer(("digest", PASSWORD)) as server:  # offers AUTH in clear, no STARTTLS
        _tls_env(monkeypatch, server, "starttls")
        code, _, err = _run(capsys, "send", "--date", DAY)
    assert code == 1
    assert "STARTTLS" in err and "NEWSLETTER_SMTP_SECURITY" in err, err
    assert server.handler.auth_attempts == 0 and server.handler.count == 0
    assert server.received == []
    _assert_nothing_recorded(workdir / "newsletter.db")


@pytest.mark.parametrize("tls_server", ["starttls", "tls"], indirect=True)
def test_untrusted_certificate_stops_with_a_tls_message(
    workdir: Path, tls_server: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    """A relay certificate the system does not trust stops the run with a TLS message: no login,
    no message, no bounce."""
    from tests.tls_certs import make_authority

    fetch(DAY)
    security = request.node.callspec.params["tls_server"]
    monkeypatch.setenv("SSL_CERT_FILE", str(make_authority(tmp_path, "other").bundle))
    _tls_env(monkeypatch, tls_server, security)
    code, _, err = _run(capsys, "send", "--date", DAY)
    assert code == 1
    assert "relay down" not in err, err
    assert "TLS" in err and "certificate" in err.lower(), err
    assert tls_server.handler.auth_attempts == 0 and tls_server.handler.count == 0
    _assert_nothing_recorded(workdir / "newsletter.db")


@pytest.mark.parametrize("tls_server", ["starttls", "tls"], indirect=True)
def test_trusted_tls_delivers_every_digest_encrypted(
    workdir: Path, tls_server: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    """With the relay's CA trusted, STARTTLS and implicit TLS both log in and deliver, every
    message over the encrypted channel."""
    fetch(DAY)
    _tls_env(monkeypatch, tls_server, request.node.callspec.params["tls_server"])
    code, out, _ = _run(capsys, "send", "--date", DAY)
    assert code == 0, out
    assert check_delivered_once(tls_server, workdir / "newsletter.db", THREE) == set()
    assert all(r.tls for r in tls_server.received)
    assert tls_server.handler.auth_attempts >= 1


# --- the subscribers file changes between planning and sending ---------------------------------


@pytest.mark.parametrize("how", ["removed", "enabled: false"])
def test_unsubscribed_before_sending_cancels_planned_and_retry_digests(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    """Digests waiting for someone removed from the file (or disabled) are cancelled, not sent,
    whether they were only planned or waiting for a retry."""
    db = workdir / "newsletter.db"
    fetch(DAY)
    monkeypatch.setenv("NEWSLETTER_SMTP_CONNECTIONS", "1")
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(free_port()))
    assert _run(capsys, "send", "--date", DAY)[0] == 1  # relay down: one retry, two planned
    assert read_ledger(db).states == {AGENTS: "retry", VIDEO: "planned", VISION: "planned"}
    topics = {AGENTS: "LLM agents", VIDEO: "video diffusion", VISION: "3D generation"}
    if how == "removed":
        write_subscribers(workdir / "subscribers.yaml", {VISION: topics[VISION]})
    else:
        write_subscribers(workdir / "subscribers.yaml", topics,
                          extra={AGENTS: "enabled: false", VIDEO: "enabled: false"})
    monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(smtp.port))
    code, out, _ = _run(capsys, "send", "--date", DAY)
    assert code == 0, out
    assert read_ledger(db).states == {AGENTS: "cancelled", VIDEO: "cancelled", VISION: "sent"}
    assert [r.rcpt_tos for r in smtp.received] == [[VISION]]
    assert _seen(db, AGENTS) == _seen(db, VIDEO) == set()
