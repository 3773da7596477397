"""Delivery: the MIME message, SMTP reply classification against a real server, the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.delivery import (
    MaildirTransport,
    Outcome,
    SmtpTransport,
    TransportConfigError,
    build_message,
    make_message_id,
)
from newsletter.models import Profile, Subscriber
from newsletter.render import RenderedDigest
from tests.smtp_server import Fault, SmtpServer, free_port

NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)
READER = Subscriber(email="reader@lab.example", name="Re\r\nBcc: evil@x.example", profile=Profile())
RENDERED = RenderedDigest("3 new papers\r\nBcc: evil@x.example", "pre", "<p>html</p>", "text\n")


def _message(n: int = 1) -> object:
    settings = load_settings(smtp_host=None)
    return build_message(RENDERED, READER, settings, f"<m{n}@lab.example>", NOW)


def _smtp(port: int, **extra: object) -> SmtpTransport:
    settings = load_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                             smtp_timeout=3, **extra)
    return SmtpTransport(settings)


async def _send_all(transport: SmtpTransport, count: int) -> list[tuple[Outcome, str]]:
    results = []
    async with transport:
        for n in range(1, count + 1):
            result = await transport.send(_message(n))  # type: ignore[arg-type]
            results.append((result.outcome, result.reply))
    return results


def test_message_is_multipart_alternative_text_first(workdir: Path) -> None:
    """text/plain comes first and text/html last; list headers are present."""
    message = message_from_bytes(bytes(_message()), policy=policy.default)  # type: ignore[call-overload]
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    for header in ("Message-ID", "Date", "From", "To", "List-Id", "List-Unsubscribe"):
        assert message[header], header
    assert message["Message-ID"] == "<m1@lab.example>"


def test_header_injection_adds_no_header(workdir: Path) -> None:
    """CR/LF in the subject or the name cannot add a Bcc header."""
    raw = bytes(_message())  # type: ignore[call-overload]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None
    assert b"\r\nBcc:" not in raw
    assert message["Subject"] == "3 new papers Bcc: evil@x.example"


def test_message_id_is_stable_per_digest_domain(workdir: Path) -> None:
    """The Message-ID uses the sender's domain and names the digest day."""
    message_id = make_message_id(READER, dt.date(2025, 8, 29), "Digest <d@lab.example>")
    assert message_id.startswith("<digest.20250829.") and message_id.endswith("@lab.example>")


def test_all_accepted(workdir: Path) -> None:
    """Three messages over one connection are all accepted and received intact."""
    with SmtpServer() as server:
        results = asyncio.run(_send_all(_smtp(server.port), 3))
    assert [outcome for outcome, _ in results] == [Outcome.SENT] * 3
    assert [r.message["Message-ID"] for r in server.received] == [
        "<m1@lab.example>", "<m2@lab.example>", "<m3@lab.example>"]
    assert server.received[0].rcpt_tos == ["reader@lab.example"]


def test_plain_smtp_loads_no_tls_context(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With security "none" no TLS context is made: loading the system's CA certificates costs
    20 ms a connection (and a run 4 MB of peak memory), for a context plain SMTP never uses."""

    def refuse() -> None:
        raise AssertionError("a TLS context was made for a plain connection")

    monkeypatch.setattr("newsletter.delivery.ssl.create_default_context", refuse)
    with SmtpServer() as server:
        results = asyncio.run(_send_all(_smtp(server.port), 2))
    assert [outcome for outcome, _ in results] == [Outcome.SENT] * 2


@pytest.mark.parametrize(("fault", "outcome"), [
    (Fault("RCPT", "451 4.3.0 try later"), Outcome.TEMPORARY),
    (Fault("DATA", "451 4.3.0 try later"), Outcome.TEMPORARY),
    (Fault("RCPT", "452 4.2.2 mailbox full"), Outcome.TEMPORARY),
    (Fault("RCPT", "552 5.2.2 over quota"), Outcome.TEMPORARY),
    (Fault("RCPT", "550 5.1.1 no such user"), Outcome.PERMANENT),
    (Fault("DATA", "554 5.7.1 rejected"), Outcome.PERMANENT),
])
def test_reply_classification_on_third_message(workdir: Path, fault: Fault,
                                                outcome: Outcome) -> None:
    """A refusal of the third message affects only it; the others go through."""
    with SmtpServer() as server:
        server.fail(3, fault)
        results = asyncio.run(_send_all(_smtp(server.port), 4))
    assert [o for o, _ in results] == [Outcome.SENT, Outcome.SENT, outcome, Outcome.SENT]
    assert results[2][1].startswith(fault.reply.split()[0])  # type: ignore[union-attr]
    assert len(server.received) == 3


def test_dropped_connection_reconnects_for_the_next(workdir: Path) -> None:
    """A connection dropped at DATA is relay trouble for that message; the next reconnects."""
    with SmtpServer() as server:
        server.fail(2, Fault("DATA", drop=True))
        results = asyncio.run(_send_all(_smtp(server.port), 3))
    assert results[1][0] is Outcome.RELAY_DOWN
    assert results[2][0] is Outcome.SENT
    assert len(server.received) == 2


def test_port_closed_is_relay_down(workdir: Path) -> None:
    """Nothing listening: the relay is down, not a bounce."""
    results = asyncio.run(_send_all(_smtp(free_port()), 1))
    assert results[0][0] is Outcome.RELAY_DOWN


def test_starttls_required_never_falls_back_to_plain(workdir: Path) -> None:
    """A relay without STARTTLS, when starttls is configured, stops the run: no plaintext send."""
    with SmtpServer() as server:
        settings = load_settings(smtp_host="127.0.0.1", smtp_port=server.port,
                                 smtp_security="starttls", smtp_timeout=3)
        with pytest.raises(TransportConfigError, match="NEWSLETTER_SMTP_SECURITY"):
            asyncio.run(_send_all(SmtpTransport(settings), 1))
    assert server.received == []


def test_maildir_outbox_is_idempotent_per_message_id(tmp_path: Path, workdir: Path) -> None:
    """Writing the same message twice (a crash before commit) leaves one file."""
    async def deliver() -> list[str]:
        async with MaildirTransport(tmp_path / "box") as box:
            first = await box.send(_message(1))  # type: ignore[arg-type]
            again = await box.send(_message(1))  # type: ignore[arg-type]
            return [first.location, again.location]

    first, again = asyncio.run(deliver())
    assert first == again
    assert [p.name for p in (tmp_path / "box" / "new").iterdir()] == [Path(first).name]
    assert list((tmp_path / "box" / "tmp").iterdir()) == []
