"""A real SMTP server for tests (aiosmtpd), with STARTTLS and AUTH when asked.

It keeps every message it accepted; `replies` can be set to make it answer an
error (a down or deferring server), and `stop()`/`start()` take it off the air.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "consulta", "s3cret-pass"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost made with the openssl command."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    message: Message
    queue_id: str


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)
    reply: str | None = None  # e.g. "451 4.3.0 try later": answer DATA with it
    data_delay: threading.Event | None = None  # when set: wait for it before answering DATA
    lock: threading.Lock = field(default_factory=threading.Lock)

    hold_ehlo: threading.Event | None = None  # when given: EHLO waits until it is set
    ehlo_seen: int = 0
    pipelining: bool = False  # advertise PIPELINING (RFC 2920) in the EHLO reply
    rcpt_reply: str | None = None  # e.g. "550 5.1.1 No such mailbox": refuse recipients with it
    # Per recipient address: refuse it at RCPT, answer the end of its message with a reply,
    # or close the connection without a word when its message has been sent.
    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    hang_up_on: str | None = None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        import asyncio

        session.host_name = hostname
        self.ehlo_seen += 1
        while self.hold_ehlo is not None and not self.hold_ehlo.is_set():
            await asyncio.sleep(0.05)
        if self.pipelining:
            responses = [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        if self.hang_up_on in envelope.rcpt_tos:
            server.transport.close()
            return "421 4.3.0 gone"  # never read: the connection is closed
        for address in envelope.rcpt_tos:
            if address in self.data_replies:
                return self.data_replies[address]
        if self.data_delay is not None:
            import asyncio

            while not self.data_delay.is_set():
                await asyncio.sleep(0.05)
        queue_id = uuid.uuid4().hex[:16].upper()
        with self.lock:
            self.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    email.message_from_bytes(envelope.content, policy=email.policy.default),
                    queue_id,
                )
            )
        return f"250 2.0.0 Ok: queued as {queue_id}"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    def __init__(self, port: int | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.handler = Handler()
        self.port = port or free_port()
        self.tls = tls
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            kwargs = dict(
                tls_context=context,
                require_starttls=True,
                authenticator=authenticator,
                auth_required=True,
                auth_require_tls=True,
            )
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
