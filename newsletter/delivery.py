"""Building the MIME message and handing it to a transport: an SMTP relay or a Maildir outbox.

The only importer of aiosmtplib. Every SMTP reply is classified into an `Outcome` so that the
pipeline can decide what the ledger records; credentials and TLS problems raise
`TransportConfigError`, which stops the run.
"""

from __future__ import annotations

import asyncio
import binascii
import datetime as dt
import functools
import hashlib
import os
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, formataddr, getaddresses
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Protocol

import aiosmtplib

from newsletter.config import Settings, SmtpSecurity
from newsletter.errors import ConfigError, RunError
from newsletter.models import Subscriber
from newsletter.render import RenderedDigest, clean_line

IDLE_CHECK_SECONDS = 10.0  # a connection idle longer than this is checked with NOOP first


class Outcome(StrEnum):
    """What a delivery attempt means for the ledger."""

    SENT = "sent"  # 250: delivered to the relay (or safely written to the outbox)
    TEMPORARY = "temporary"  # 4xx: try again later
    PERMANENT = "permanent"  # 5xx: this recipient fails for good (a bounce)
    RELAY_DOWN = "relay_down"  # no usable connection: defer the run, count nothing


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    reply: str
    location: str = ""  # where the message went (the outbox file), for the CLI to print


class TransportConfigError(RunError):
    """Authentication or TLS failed: retrying would not help; a setting must be fixed."""


class Transport(Protocol):
    """Where messages go. Implementations: `SmtpTransport`, `MaildirTransport`."""

    description: str

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def send(self, message: EmailMessage) -> SendResult: ...


def make_message_id(subscriber: Subscriber, day: dt.date, from_address: str) -> str:
    """A Message-ID fixed at planning time, so a re-sent digest carries the same one."""
    domain = sender_address(from_address).domain or "localhost"
    token = hashlib.sha256(f"{subscriber.key}|{day.isoformat()}".encode()).hexdigest()[:16]
    nonce = os.urandom(4).hex()
    return f"<digest.{day:%Y%m%d}.{token}.{nonce}@{domain}>"


@functools.lru_cache(maxsize=16)
def sender_address(from_address: str) -> Address:
    """Parse `NEWSLETTER_FROM` ("Name <addr>" or "addr"), refusing anything ambiguous.

    Remembered: every Message-ID of a run needs the domain, and parsing costs more than
    building the rest of the ID.
    """
    parsed = getaddresses([from_address])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise ConfigError(f"NEWSLETTER_FROM: {from_address!r} is not one email address")
    name, address = parsed[0]
    username, domain = address.rsplit("@", 1)
    return Address(display_name=clean_line(name), username=username, domain=domain)


class DigestMessage(EmailMessage):
    """A digest as a MIME message and, composed once, as the bytes that go on the wire.

    The email package takes milliseconds to build and again to flatten a 50 KB message (most of
    a run's time once rendering and ranking are cheap); here the headers are folded by the
    policy only when they need it, the bodies are quoted-printable by `binascii`, and the wire
    form is kept, so that sending and writing to the outbox never flatten. The MIME model holds
    the same headers and encoded bodies (`message["Subject"]`, `get_body` work as usual); treat
    the message as read-only, since `bytes()` does not see changes to the model.
    """

    wire: bytes
    sender: str  # the envelope: MAIL FROM and RCPT TO
    recipient: str

    def __bytes__(self) -> bytes:
        return self.wire

    def as_bytes(self, unixfrom: bool = False, policy: Policy | None = None) -> bytes:
        """The wire form (CRLF line ends, as the SMTP policy writes them)."""
        return self.wire


def build_message(
    rendered: RenderedDigest, subscriber: Subscriber, settings: Settings, message_id: str,
    now: dt.datetime,
) -> DigestMessage:
    """multipart/alternative: text/plain first, text/html last, with list headers."""
    sender, fixed = _fixed_headers(settings.from_address, settings.list_id, settings.unsubscribe)
    boundary = f"=_{os.urandom(12).hex()}"  # "=_" never occurs in quoted-printable text
    lines = [fixed[0], *(_header(name, value) for name, value in (
        ("To", formataddr((clean_line(subscriber.name or ""), subscriber.email))),
        ("Subject", clean_line(rendered.subject)),
        ("Date", format_datetime(now.astimezone(dt.UTC))),
        ("Message-ID", clean_line(message_id)),
    )), *fixed[1:], _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    message = DigestMessage(policy=SMTP)
    for line in lines:
        name, value = line.split(": ", 1)
        message.set_raw(name, value.removesuffix("\r\n"))
    wire = ["".join(lines).encode("ascii")]
    bodies = (("plain", (rendered.text,)), ("html", rendered.html_parts or (rendered.html,)))
    for subtype, pieces in bodies:
        # The CRLF before a boundary belongs to the boundary: a body's own last newline stays.
        wire += [b"\r\n--%s\r\n" % boundary.encode(), _part(message, subtype, pieces)]
    wire.append(b"\r\n--%s--\r\n" % boundary.encode())
    message.wire, message.sender, message.recipient = b"".join(wire), sender, subscriber.email
    return message


_PART_HEADERS = ('Content-Type: text/{}; charset="utf-8"\r\n'
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n")


def _part(message: EmailMessage, subtype: str, pieces: Sequence[str]) -> bytes:
    """One quoted-printable UTF-8 part: attached to the model, returned in wire form."""
    encoded = _quoted_printable(pieces)
    part = EmailMessage(policy=SMTP)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(encoded.decode("ascii"))
    message.attach(part)
    return _PART_HEADERS.format(subtype).encode() + encoded


def _quoted_printable(pieces: Sequence[str]) -> bytes:
    """The body's text in quoted-printable, with CRLF line ends, encoded piece by piece.

    A digest's HTML comes in pieces, most of them from cards that many digests share (see
    `RenderedDigest.html_parts`), so each piece's encoding is remembered; pieces are joined
    with a soft line break, which decodes to nothing.
    """
    if len(pieces) > 1 and any(piece.endswith("\r") for piece in pieces):
        pieces = ("".join(pieces),)  # a CR LF split between two pieces: encode it whole
    encoded: list[bytes] = []
    for piece in pieces:
        if encoded and not encoded[-1].endswith(b"\r\n"):
            encoded.append(b"=\r\n")
        encoded.append(_qp_piece(piece))
    return b"".join(encoded)


@functools.lru_cache(maxsize=1024)
def _qp_piece(text: str) -> bytes:
    """One piece in quoted-printable (CRLF line ends)."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n")
    return _fit_lines(binascii.b2a_qp(normal.encode(), istext=True).replace(b"\n", b"\r\n"))


def _fit_lines(encoded: bytes) -> bytes:
    """Lines of at most 76 characters, "=" included (RFC 2045), and a last line of at most 75,
    so that the soft line break joining the next piece fits. (`b2a_qp` can write 77 when a
    line ends in an encoded tab or space.)"""
    lines = encoded.split(b"\r\n")
    if len(lines[-1]) <= 75 and all(len(line) <= 76 for line in lines):
        return encoded
    fitted: list[bytes] = []
    for number, line in enumerate(lines, start=1):
        limit = 75 if number == len(lines) else 76
        while len(line) > limit:
            cut = 75
            while b"=" in line[cut - 2:cut]:  # never between "=" and its two hex digits
                cut -= 1
            fitted.append(line[:cut] + b"=")
            line = line[cut:]
        fitted.append(line)
    return b"\r\n".join(fitted)


def _header(name: str, value: str) -> str:
    """`Name: value` folded for the wire: printable ASCII as it is when short or when it has
    no space to fold at (a long List-Unsubscribe link must stay a link, not become encoded
    words: RFC 5322 allows 998 characters), anything else folded and encoded by the policy."""
    line = f"{name}: {value}\r\n"
    plain = value.isascii() and value.isprintable()
    if not plain or len(line) > 998 or (len(line) > 78 and " " in value):
        line = SMTP.header_factory(name, value).fold(policy=SMTP)
    return line


@functools.lru_cache(maxsize=8)
def _fixed_headers(from_address: str, list_id: str,
                   unsubscribe: str | None) -> tuple[str, tuple[str, ...]]:
    """The envelope sender and the headers every message of these settings shares, folded
    once: From first, then the list headers (To, Subject, Date, Message-ID go between)."""
    sender = sender_address(from_address)
    lines = [_header("From", str(sender)),
             _header("List-Id", f"Paper digest <{clean_line(list_id)}>"),
             _header("List-Unsubscribe", _unsubscribe(unsubscribe, sender))]
    if (unsubscribe or "").startswith("https:"):
        lines.append(_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    lines += [_header("Auto-Submitted", "auto-generated"), _header("MIME-Version", "1.0")]
    return sender.addr_spec, tuple(lines)


def _unsubscribe(unsubscribe: str | None, sender: Address) -> str:
    target = unsubscribe or f"mailto:{sender.addr_spec}?subject=unsubscribe"
    return f"<{clean_line(target)}>"


def manage_hint(settings: Settings) -> str:
    """The footer's "how to change topics or unsubscribe" sentence."""
    if settings.unsubscribe:
        return f"visit {settings.unsubscribe} or reply to this email."
    return "reply to this email and the person who runs this newsletter will update your entry."


# --- SMTP ------------------------------------------------------------------------------------

_RELAY_DOWN_ERRORS = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    asyncio.TimeoutError,
    ConnectionError,
    socket.gaierror,
)


def classify(code: int, message: str, stage: str) -> SendResult:
    """Map an SMTP reply to an outcome; RCPT 552 (mailbox full) is temporary, as RFC 5321 says."""
    reply = f"{code} {' '.join(message.split())}".strip()
    if stage == "RCPT" and code == 552:
        return SendResult(Outcome.TEMPORARY, reply)
    if 400 <= code < 500:
        return SendResult(Outcome.RELAY_DOWN if code == 421 else Outcome.TEMPORARY, reply)
    if 500 <= code < 600:
        return SendResult(Outcome.PERMANENT, reply)
    return SendResult(Outcome.TEMPORARY, reply)


class SmtpTransport:
    """One reused connection to the relay, opened lazily and re-opened after a disconnect."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        security = settings.smtp_security.value
        self.description = f"SMTP {settings.smtp_host}:{settings.smtp_port_or_default} ({security})"

    async def __aenter__(self) -> SmtpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
        self._client = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        plain = s.smtp_security is SmtpSecurity.NONE  # no TLS: the system's CAs are not loaded
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host, port=s.smtp_port_or_default, timeout=s.smtp_timeout,
            use_tls=s.smtp_security is SmtpSecurity.TLS,
            start_tls=s.smtp_security is SmtpSecurity.STARTTLS,
            validate_certs=True, tls_context=None if plain else ssl.create_default_context(),
        )
        try:
            await client.connect()
            if s.smtp_username and s.smtp_password:
                await client.login(s.smtp_username, s.smtp_password.get_secret_value())
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise TransportConfigError(
                f"{self.description} refused the login ({exc.code}); check "
                "NEWSLETTER_SMTP_USERNAME and NEWSLETTER_SMTP_PASSWORD"
            ) from None
        except (ssl.SSLError, aiosmtplib.SMTPException) as exc:
            client.close()
            if isinstance(exc, ssl.SSLError) or isinstance(exc.__cause__, ssl.SSLError) \
                    or "TLS" in str(exc):
                raise TransportConfigError(
                    f"{self.description}: TLS failed ({exc}); check NEWSLETTER_SMTP_SECURITY "
                    "and NEWSLETTER_SMTP_PORT (587 starttls, 465 tls)"
                ) from None
            raise
        return client

    async def send(self, message: EmailMessage) -> SendResult:
        """Send one message on the kept connection, reconnecting when it went away idle.

        A connection lost *during* a transaction is not retried here: the relay may have
        queued the message, so the ledger decides (a later run re-sends it, same Message-ID).
        """
        try:
            client = await self._live_client()
            return await self._send_once(client, message)
        except aiosmtplib.SMTPConnectResponseError as exc:
            self._client = None
            return SendResult(Outcome.RELAY_DOWN, f"{exc.code} {' '.join(exc.message.split())}")
        except _RELAY_DOWN_ERRORS as exc:
            self._client = None
            return SendResult(Outcome.RELAY_DOWN, f"{type(exc).__name__}: {exc}".strip(": "))

    async def _live_client(self) -> aiosmtplib.SMTP:
        """The kept connection if it still answers NOOP after being idle, else a new one."""
        client = self._client
        if client is not None and client.is_connected:
            if time.monotonic() - self._last_used < IDLE_CHECK_SECONDS:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        self._client = await self._connect()
        return self._client

    async def _send_once(self, client: aiosmtplib.SMTP, message: EmailMessage) -> SendResult:
        try:
            if isinstance(message, DigestMessage):  # already flat: no second serialisation
                _, reply = await client.sendmail(message.sender, [message.recipient],
                                                 message.wire)
            else:
                _, reply = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            return classify(first.code, first.message, "RCPT")
        except aiosmtplib.SMTPSenderRefused as exc:
            return classify(exc.code, exc.message, "MAIL")
        except aiosmtplib.SMTPDataError as exc:
            return classify(exc.code, exc.message, "DATA")
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:
                self._client = None
            return classify(exc.code, exc.message, "SMTP")
        finally:
            self._last_used = time.monotonic()
        return SendResult(Outcome.SENT, " ".join(reply.split()) or "250")


# --- Maildir outbox ----------------------------------------------------------------------------


class MaildirTransport:
    """Delivers into a local Maildir (`new/`), durably: write to `tmp/`, fsync, rename.

    The file name is derived from the Message-ID, so re-delivering after a crash replaces the
    file instead of adding a second copy.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"Maildir outbox {root}"

    async def __aenter__(self) -> MaildirTransport:
        try:
            for sub in ("tmp", "new", "cur"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"NEWSLETTER_OUTBOX: cannot create {self.root}: {exc}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def send(self, message: EmailMessage) -> SendResult:
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:24] + ".eml"
        tmp, final = self.root / "tmp" / name, self.root / "new" / name
        try:
            with open(tmp, "wb") as handle:
                handle.write(message.as_bytes(policy=SMTP))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            return SendResult(Outcome.TEMPORARY, f"outbox write failed: {exc}")
        return SendResult(Outcome.SENT, "written to outbox", str(final))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_transport(settings: Settings) -> Transport:
    """SMTP when `NEWSLETTER_SMTP_HOST` is set, else the Maildir outbox."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return MaildirTransport(settings.outbox)
