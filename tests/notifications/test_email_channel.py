"""The e-mail channel against a real SMTP server (aiosmtpd): STARTTLS, AUTH, ids, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from consulta.settings import Settings
from consulta.workers.email import (
    DevInboxSender,
    PermanentEmailError,
    SmtpSender,
    TemporaryEmailError,
    email_sender,
    message_id_for,
)
from tests.notifications.smtp_server import PASSWORD, USER, SmtpServer, free_port, self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[SmtpServer]:
    server = SmtpServer(tls=certificate).start()
    yield server
    server.stop()


def tls_sender(server: SmtpServer, certificate: tuple[Path, Path], password: str = PASSWORD) -> SmtpSender:
    settings = Settings.from_env(
        {
            "CONSULTA_SECRET_KEY": "x",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(server.port),
            "SMTP_USER": USER,
            "SMTP_PASSWORD": password,
            "SMTP_STARTTLS": "true",
            "SMTP_FROM": "Cabinet Martin <rdv@cabinet.example>",
            "SMTP_CA_FILE": str(certificate[0]),
        }
    )
    sender = email_sender(settings)
    assert isinstance(sender, SmtpSender)
    return sender


def test_sends_over_starttls_with_authentication(
    tls_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    sender = tls_sender(tls_server, certificate)
    provider_id = sender.send(
        "Jeanne Dupont <jeanne@example.org>", "Votre rendez-vous", "Bonjour", "<p>Bonjour</p>", "confirm/1"
    )
    [received] = tls_server.messages
    assert provider_id == received.queue_id
    assert received.envelope_from == "rdv@cabinet.example"
    assert received.recipients == ["jeanne@example.org"]
    assert received.message["Subject"] == "Votre rendez-vous"
    assert received.message["Message-ID"] == message_id_for("confirm/1", "rdv@cabinet.example")
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in received.message.walk()
        if not part.is_multipart()
    }
    assert parts["text/plain"].strip() == "Bonjour"
    assert parts["text/html"].strip() == "<p>Bonjour</p>"


def test_a_wrong_password_is_a_permanent_error(
    tls_server: SmtpServer, certificate: tuple[Path, Path]
) -> None:
    with pytest.raises(PermanentEmailError, match="535"):
        tls_sender(tls_server, certificate, password="wrong").send("a@example.org", "s", "t", None, "k")
    assert tls_server.messages == []


def test_an_untrusted_certificate_is_refused(tls_server: SmtpServer) -> None:
    sender = SmtpSender("127.0.0.1", tls_server.port, sender="x@example.org", user=USER, password=PASSWORD)
    with pytest.raises(TemporaryEmailError):
        sender.send("a@example.org", "s", "t", None, "k")
    assert tls_server.messages == []


def test_a_deferral_is_temporary_and_a_refusal_permanent() -> None:
    server = SmtpServer().start()
    try:
        sender = SmtpSender("127.0.0.1", server.port, sender="x@example.org", starttls=False)
        server.handler.reply = "451 4.3.0 Try again later"
        with pytest.raises(TemporaryEmailError, match="451"):
            sender.send("a@example.org", "s", "t", None, "k")
        server.handler.reply = "554 5.7.1 Rejected"
        with pytest.raises(PermanentEmailError, match="554"):
            sender.send("a@example.org", "s", "t", None, "k")
        server.handler.reply = None
        sender.send("a@example.org", "s", "t", None, "k")
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_a_server_that_is_down_is_a_temporary_error() -> None:
    sender = SmtpSender("127.0.0.1", free_port(), sender="x@example.org", starttls=False, timeout=2)
    with pytest.raises(TemporaryEmailError, match="unreachable"):
        sender.send("a@example.org", "s", "t", None, "k")


def test_the_dev_inbox_keeps_one_message_per_key(settings: Settings) -> None:
    sender = email_sender(settings)
    assert isinstance(sender, DevInboxSender)
    first = sender.send("jeanne@example.org", "Sujet", "Texte", None, "dev-inbox-test/1")
    again = sender.send("jeanne@example.org", "Sujet", "Texte", None, "dev-inbox-test/1")
    assert first == again
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT recipient, subject, body FROM read.dev_inbox WHERE idempotency_key = 'dev-inbox-test/1'"
        ).fetchall()
    assert rows == [("jeanne@example.org", "Sujet", "Texte")]


def test_production_without_smtp_host_refuses_to_pick_a_sender() -> None:
    with pytest.raises(RuntimeError, match="SMTP_HOST"):
        email_sender(Settings(environment="production", secret_key="x"))


def test_a_long_message_goes_with_crlf_line_ends_and_arrives_whole() -> None:
    server = SmtpServer().start()
    try:
        text = "\n".join(f"Ligne {i} : rendez-vous à 09:{i % 60:02d}, cabinet médical" for i in range(200))
        SmtpSender("127.0.0.1", server.port, sender="x@example.org", starttls=False).send(
            "a@example.org", "Rappel", text, None, "long"
        )
        [received] = server.messages
        assert received.message.get_content().replace("\r\n", "\n").strip() == text
    finally:
        server.stop()


class CountingSocket:
    """Wraps the client's socket to count its writes (one per round trip the client starts)."""

    def __init__(self, sock: Any) -> None:
        self.sock, self.writes = sock, 0

    def sendall(self, data: bytes) -> None:
        self.writes += 1
        self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def test_with_pipelining_a_message_takes_two_writes_and_arrives_whole() -> None:
    server = SmtpServer().start()
    server.handler.pipelining = True
    try:
        sender = SmtpSender("127.0.0.1", server.port, sender="x@example.org", starttls=False)
        text = "Bonjour,\n.\n.. deux points\nfin"  # lines that start with a dot must be stuffed and unstuffed
        sender.send("a@example.org", "Rappel", text, None, "warm-up")
        connection = sender._connection()
        assert connection.has_extn("pipelining")
        counting = CountingSocket(connection.sock)
        connection.sock = counting  # type: ignore[assignment]
        provider_id = sender.send("b@example.org", "Rappel", text, None, "pipelined")
        assert counting.writes == 2  # MAIL+RCPT+DATA together, then the message (four without PIPELINING)
        _first, second = server.messages
        assert second.recipients == ["b@example.org"] and provider_id == second.queue_id
        assert second.message.get_content().replace("\r\n", "\n").rstrip("\n") == text
    finally:
        server.stop()


def test_with_pipelining_refusals_keep_their_meaning_and_the_connection_stays_usable() -> None:
    server = SmtpServer().start()
    server.handler.pipelining = True
    try:
        sender = SmtpSender("127.0.0.1", server.port, sender="x@example.org", starttls=False)
        server.handler.rcpt_reply = "550 5.1.1 No such mailbox"
        with pytest.raises(PermanentEmailError, match="550"):
            sender.send("nobody@example.org", "s", "t", None, "k1")
        server.handler.rcpt_reply = "450 4.2.0 Mailbox busy"
        with pytest.raises(TemporaryEmailError, match="450"):
            sender.send("busy@example.org", "s", "t", None, "k2")
        server.handler.rcpt_reply = None
        server.handler.reply = "451 4.3.0 Try again later"
        with pytest.raises(TemporaryEmailError, match="451"):
            sender.send("a@example.org", "s", "t", None, "k3")
        server.handler.reply = None
        sender.send("a@example.org", "s", "t", None, "k4")
        [received] = server.messages
        assert received.recipients == ["a@example.org"]
    finally:
        server.stop()


def test_accented_long_headers_arrive_decoded() -> None:
    server = SmtpServer().start()
    try:
        subject = "Votre rendez-vous du mercredi 9 décembre à 10:15 est confirmé — cabinet médical " * 2
        SmtpSender(
            "127.0.0.1", server.port, sender="Cabinet Médical Hélène <rdv@cabinet.example>", starttls=False
        ).send("Jérôme <jerome@example.org>", subject, "Texte", None, "accents")
        [received] = server.messages
        assert received.message["Subject"] == subject
        assert received.message["From"].addresses[0].display_name == "Cabinet Médical Hélène"
        assert received.message["To"].addresses[0].display_name == "Jérôme"
        assert all(len(line) <= 998 for line in received.message.as_string().splitlines())
    finally:
        server.stop()


def test_dates_in_messages_carry_the_weekday_and_the_french_first() -> None:
    from datetime import date

    from consulta.workers.messages import day_label

    assert day_label("fr", date(2026, 12, 1)) == "mardi 1er décembre 2026"
    assert day_label("fr", date(2026, 12, 2)) == "mercredi 2 décembre 2026"
    assert day_label("en", date(2026, 12, 1)) == "Tuesday 1 December 2026"
