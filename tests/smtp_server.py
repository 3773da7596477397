"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records messages and can be told to misbehave.

Faults are scripted per message number (1-based, counted at MAIL FROM) or per recipient: refuse
at RCPT or at the end of DATA with a chosen reply, drop the connection, or answer slowly. The
greeting can be a refusal (`421`) or never come; the server can offer STARTTLS or speak implicit
TLS with a given `ssl.SSLContext`, and refuse every login. A `Pause` holds the server at a chosen
point of the n-th message so that a test can kill the sending process there.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

PAUSE_LIMIT = 30.0  # seconds a pause holds at most, so a forgotten release cannot hang a test


@dataclass
class Fault:
    """What to do to the n-th message: `stage` is "RCPT" or "DATA"; `reply` e.g. "451 4.3.0 busy";
    `drop` closes the connection instead of replying; `delay` seconds to wait first."""

    stage: str = "DATA"
    reply: str | None = None
    drop: bool = False
    delay: float = 0.0


@dataclass
class Received:
    """One accepted message, as the server saw it (`tls`: it came over an encrypted channel)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool = False

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


class At(StrEnum):
    """Where a `Pause` holds the n-th message."""

    DATA = "data"  # the message is stored (the relay has it) but the 250 is not sent yet
    REPLY = "reply"  # the 250 has been written to the socket; the next command is not read
    NEXT = "next"  # the client sent its next command (MAIL, RSET, NOOP or QUIT) after the 250


@dataclass
class Pause:
    """Holds the server at one point until `release` is set; `reached` tells the test it is there.

    `action` runs in the server's thread when the n-th message reaches the end of DATA, before any
    reply (e.g. to lock the database so that the sender cannot record the 250).
    """

    number: int
    at: At
    action: Callable[[], None] | None = None
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def hold(self) -> None:
        self.reached.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PAUSE_LIMIT
        while not self.release.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.005)


@dataclass
class Handler:
    faults: dict[int, Fault] = field(default_factory=dict)
    refuse_all: Fault | None = None
    received: list[Received] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_recipient: dict[str, Fault] = field(default_factory=dict)
    pauses: list[Pause] = field(default_factory=list)
    auth_attempts: int = 0
    connections: int = 0  # client connections since the server started (greeting faults apply)
    greeting: str | None = None  # a refusal such as "421 4.3.2 not now" instead of the 220
    greeting_delay: float = 0.0  # seconds of silence before the banner (or the refusal)
    greeted: threading.Event = field(default_factory=threading.Event)

    def _fault(self, stage: str, recipients: list[str]) -> Fault | None:
        fault = self.faults.get(self.count) or self.refuse_all
        for address in recipients:
            fault = self.by_recipient.get(address.lower(), fault)
        return fault if fault is not None and fault.stage == stage else None

    def _pause(self, number: int, at: At) -> Pause | None:
        return next((p for p in self.pauses if p.number == number and p.at is at), None)

    async def _apply(self, server: Any, fault: Fault) -> str | None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return fault.reply

    async def _hold_next(self, session: Any) -> None:
        """The client moved on after a 250 that a NEXT pause waits for."""
        pause: Pause | None = getattr(session, "pause_next", None)
        if pause is not None:
            session.pause_next = None
            await pause.hold()

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        await self._hold_next(session)
        with self.lock:
            self.count += 1
            session.number = self.count
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        fault = self._fault("RCPT", [address])
        if fault is not None:
            reply = await self._apply(server, fault)
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._fault("DATA", envelope.rcpt_tos)
        if fault is not None:
            reply = await self._apply(server, fault)
            if reply:
                return reply
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content), tls))
        number = getattr(session, "number", self.count)
        for pause in self.pauses:
            if pause.number == number and pause.action is not None:
                pause.action()
        held = self._pause(number, At.DATA)
        if held is not None:
            await held.hold()
        session.pause_next = self._pause(number, At.NEXT)
        return "250 2.0.0 Ok: queued"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        await self._hold_next(session)
        return "250 OK"

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        await self._hold_next(session)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await self._hold_next(session)
        return "221 Bye"


class _FaultySMTP(SMTP):
    """aiosmtpd's server with a scriptable greeting and a hook after the reply to DATA."""

    async def _handle_client(self) -> None:
        handler: Handler = self.event_handler
        handler.connections += 1
        handler.greeted.set()
        if handler.greeting_delay:
            await asyncio.sleep(handler.greeting_delay)
        if handler.greeting is not None:
            await self.push(handler.greeting)
            assert self.transport is not None
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_DATA(self, arg: str) -> None:
        await super().smtp_DATA(arg)
        handler: Handler = self.event_handler
        pause = handler._pause(getattr(self.session, "number", -1), At.REPLY)
        if pause is not None:
            await pause.hold()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """Start/stop wrapper; `credentials` turns on AUTH (plain text allowed on loopback unless TLS
    is offered); `starttls` offers STARTTLS with that context; `implicit_tls` speaks TLS from the
    first byte (port 465 style). Only the PLAIN mechanism is offered, so one login is one AUTH.
    """

    def __init__(self, credentials: tuple[str, str] | None = None, *,
                 starttls: ssl.SSLContext | None = None,
                 implicit_tls: ssl.SSLContext | None = None) -> None:
        self.handler = Handler()
        self.port = free_port()
        kwargs: dict[str, Any] = {"auth_exclude_mechanism": ["LOGIN"]}
        if credentials is not None:
            user, password = credentials
            handler = self.handler

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                              auth_data: Any) -> AuthResult:
                with handler.lock:
                    handler.auth_attempts += 1
                ok = isinstance(auth_data, LoginPassword) and \
                    auth_data.login.decode() == user and auth_data.password.decode() == password
                return AuthResult(success=ok, handled=False)

            kwargs |= {"authenticator": authenticator,
                       "auth_require_tls": starttls is not None}
        if starttls is not None:
            kwargs["tls_context"] = starttls
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                      ssl_context=implicit_tls, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        self.handler.connections = 0  # the controller's own readiness probe does not count
        self.handler.greeted.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        for pause in self.handler.pauses:
            pause.release.set()
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def fail(self, n: int, fault: Fault) -> None:
        self.handler.faults[n] = fault

    def fail_to(self, address: str, fault: Fault | None) -> None:
        """Apply `fault` to every message for this recipient (None: stop refusing it)."""
        if fault is None:
            self.handler.by_recipient.pop(address.lower(), None)
        else:
            self.handler.by_recipient[address.lower()] = fault

    def pause(self, number: int, at: At, action: Callable[[], None] | None = None) -> Pause:
        """Hold the server at `at` of the `number`-th message until the pause is released."""
        pause = Pause(number, at, action)
        self.handler.pauses.append(pause)
        return pause

    def at_data(self, number: int, action: Callable[[], None]) -> None:
        """Run `action` in the server's thread when the `number`-th message ends its DATA,
        before the 250 is sent (no pause)."""
        pause = Pause(number, At.DATA, action)
        pause.release.set()
        self.handler.pauses.append(pause)

    def to(self, address: str) -> list[Received]:
        """The accepted messages addressed to one recipient."""
        return [r for r in self.received if address.lower() in (a.lower() for a in r.rcpt_tos)]
