"""Fixtures of the account tests: a real SMTP server (aiosmtpd) and an app that sends to it."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import AsyncTestClient

from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import World, build_world


class Mailbox:
    """Keeps every message the server accepted; `wait_for(to)` returns the newest one for an address."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self._lock = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler hook
        with self._lock:
            self.messages.append(
                ([r.lower() for r in envelope.rcpt_tos], email.message_from_bytes(envelope.content))
            )
            self._lock.notify_all()
        return "250 Message accepted for delivery"

    def count(self, to: str) -> int:
        with self._lock:
            return sum(1 for rcpts, _ in self.messages if to.lower() in rcpts)

    def wait_for(self, to: str, after: int = 0, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [m for rcpts, m in self.messages if to.lower() in rcpts]
                if len(found) > after:
                    return found[-1]
                left = deadline - time.monotonic()
                assert left > 0, "no message arrived"
                self._lock.wait(left)


def body_of(message: Message) -> str:
    part = (
        message.get_payload(decode=True)
        if not message.is_multipart()
        else message.get_payload(0).get_payload(decode=True)
    )  # type: ignore[union-attr]
    return part.decode()  # type: ignore[union-attr]


def link_in(message: Message, base: str = "http://127.0.0.1") -> str:
    """The path of the one link in a message."""
    found = re.search(re.escape(base) + r"(/\S+)", body_of(message))
    assert found, "no link in the message"
    return found.group(1)


def code_in(message: Message) -> str:
    found = re.search(r"\b(\d{6})\b", body_of(message))
    assert found, "no code in the message"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="session")
def mail_settings(settings: Settings, mailbox: tuple[Mailbox, int]) -> Settings:
    """The test settings, sending e-mail over SMTP to the local server (no TLS on loopback)."""
    return settings.with_(
        smtp_host="127.0.0.1", smtp_port=mailbox[1], smtp_starttls=False, base_url="http://127.0.0.1"
    )


@pytest.fixture
async def client(mail_settings: Settings, services: Services) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(mail_settings, services), base_url="http://127.0.0.1") as c:
        await c.get("/")  # the CSRF cookie
        yield c


@pytest.fixture(scope="module")
def world(services: Services) -> World:
    return build_world(services, datetime.now(UTC).replace(microsecond=0))


def head(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0
