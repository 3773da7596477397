"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records messages and can be told to misbehave.

Faults are scripted per message number (1-based, counted at MAIL FROM): refuse at RCPT or at the
end of DATA with a chosen reply, drop the connection, or answer slowly.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


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
    """One accepted message, as the server saw it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    faults: dict[int, Fault] = field(default_factory=dict)
    refuse_all: Fault | None = None
    received: list[Received] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _fault(self, stage: str) -> Fault | None:
        fault = self.faults.get(self.count) or self.refuse_all
        return fault if fault is not None and fault.stage == stage else None

    async def _apply(self, server: Any, fault: Fault) -> str | None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return fault.reply

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        with self.lock:
            self.count += 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        fault = self._fault("RCPT")
        if fault is not None:
            reply = await self._apply(server, fault)
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._fault("DATA")
        if fault is not None:
            reply = await self._apply(server, fault)
            if reply:
                return reply
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content or envelope.content)))
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """Start/stop wrapper; `credentials` turns on AUTH (plain text allowed on loopback)."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.handler = Handler()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            user, password = credentials

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                              auth_data: Any) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and \
                    auth_data.login.decode() == user and auth_data.password.decode() == password
                return AuthResult(success=ok, handled=False)

            kwargs = {"authenticator": authenticator, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def fail(self, n: int, fault: Fault) -> None:
        self.handler.faults[n] = fault
