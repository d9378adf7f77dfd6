"""The e-mail channel: one small interface, an SMTP implementation and a dev inbox.

    sender = email_sender(settings)
    message_id = sender.send(to, subject, text, html=None, idempotency_key="confirm/<id>")

`send` returns the provider's id for the message (the server's queue id when
its reply names one, else the Message-ID header we set). The Message-ID is
derived from the idempotency key, so a message sent twice carries the same id;
recording that a key was sent (so it is not sent again) is the caller's job
(see consulta.workers.outbox). Errors: `TemporaryEmailError` (try again later:
server down, 4xx) and `PermanentEmailError` (5xx: retrying will not help).
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import sql

from consulta.settings import Settings

from .mime import Attachment as Attachment  # re-exported: outbox and tests import them from here
from .mime import message_bytes, parse_address
from .mime import message_id_for as message_id_for
from .smtp_wire import one_by_one, pipelined_many

QUEUED_AS = re.compile(rb"queued as ([A-Za-z0-9._@<>-]+)", re.IGNORECASE)


# A connection idle for longer is checked with NOOP before a batch: servers close idle
# connections after minutes (Postfix: 300 s), and a message sent on a dead one would have
# to wait for its retry. Under load, connections are never idle that long: no extra round trip.
IDLE_CHECK_SECONDS = 10.0


class EmailError(Exception):
    """Sending failed; the message names no recipient (no personal data in logs)."""


class TemporaryEmailError(EmailError):
    """The server is unreachable or deferred the message: try again later."""


class PermanentEmailError(EmailError):
    """The server refused the message for good (5xx)."""


@dataclass(frozen=True)
class Outgoing:
    """One message of a batch (`EmailSender.send_many`); the arguments of `send`."""

    to: str
    subject: str
    text: str
    html: str | None
    idempotency_key: str
    attachments: Sequence[Attachment] = ()


# What `send_many` yields for each message: its index and the provider's id, or the exception
# that kept it from going. After a TemporaryEmailError nothing more of the batch is tried.
Outcomes = Generator[tuple[int, str | Exception], None, None]


class EmailSender(Protocol):
    def send(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> str: ...

    def send_many(self, messages: Sequence[Outgoing]) -> Outcomes: ...


def send_each(sender: EmailSender, messages: Sequence[Outgoing]) -> Outcomes:
    """`send_many` as one `send` after another, for senders without a batch path of their own."""
    for index, m in enumerate(messages):
        try:
            yield index, sender.send(m.to, m.subject, m.text, m.html, m.idempotency_key, m.attachments)
        except TemporaryEmailError as error:
            yield index, error
            return
        except Exception as error:  # this message's fault (a bad address...): the others still go
            yield index, error


def _answered(code: int, reply: bytes | str) -> EmailError:
    """The error for a refusal: 5xx is for good, anything else (4xx) is worth trying again later."""
    kind = PermanentEmailError if 500 <= code < 600 else TemporaryEmailError
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return kind(f"SMTP server answered {code} {text[:100]}".strip())


class SmtpSender:
    """Sends over SMTP: STARTTLS when configured (certificate checked), then AUTH when a user is set."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        ca_file: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password = user, password
        self.starttls, self.ca_file, self.timeout = starttls, ca_file, timeout
        self._local = threading.local()  # one open connection per worker thread

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        if not settings.smtp_host:
            raise ValueError("SMTP_HOST is not set")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            ca_file=settings.smtp_ca_file,
        )

    def send(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> str:
        """Send over this thread's open connection (opened, upgraded and authenticated once)."""
        # Run to the end (not stopped at the first outcome), so the connection is kept for the next message.
        [(_, outcome)] = list(
            self.send_many([Outgoing(to, subject, text, html, idempotency_key, attachments)])
        )
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def send_many(self, messages: Sequence[Outgoing]) -> Outcomes:
        """The messages on this thread's connection, pipelined across messages when the server offers
        PIPELINING (`smtp_wire.pipelined_many`: one round trip a message), else one after another.
        Each outcome is yielded as soon as the server has answered for that message, so that the
        caller can record it before the next goes. After a temporary failure nothing more is tried."""
        ready: list[tuple[int, str, bytes, str]] = []  # index, recipient, content, Message-ID
        for index, m in enumerate(messages):
            try:
                content, message_id = message_bytes(
                    self.sender, m.to, m.subject, m.text, m.html, m.idempotency_key, m.attachments
                )
                ready.append((index, parse_address(m.to)[1], content, message_id))
            except ValueError as error:  # not writable (a bad address, an over-long name): fails for good
                yield index, PermanentEmailError(f"the message cannot be written: {error}")
            except Exception as error:  # a fault of ours: the caller retries it; the others go
                yield index, error
        if not ready:
            return
        clean = False
        answered = 0  # messages of `ready` the server has answered for
        try:
            smtp = self._live_connection()
            wire = pipelined_many if smtp.has_extn("pipelining") else one_by_one
            envelopes = [(rcpt, content) for _, rcpt, content, _ in ready]
            for i, code, reply in wire(smtp, parse_address(self.sender)[1], envelopes):
                answered = i + 1
                index, _, _, message_id = ready[i]
                if code < 400:
                    found = QUEUED_AS.search(reply or b"")
                    yield index, found.group(1).decode() if found else message_id
                    continue
                answer = _answered(code, reply)
                yield index, answer
                if isinstance(answer, TemporaryEmailError):
                    return  # the rest waits; the connection is dropped below (it may be mid-transaction)
            clean = True
        except smtplib.SMTPResponseException as error:  # connecting: EHLO, STARTTLS or AUTH refused
            refused = _answered(error.smtp_code, error.smtp_error)
            waiting = ready[answered:] if isinstance(refused, PermanentEmailError) else ready[answered:][:1]
            for index, *_ in waiting:
                yield index, refused  # a refusal for good (a wrong password) is every message's
        except (smtplib.SMTPException, OSError) as error:  # timeouts are OSErrors
            if answered < len(ready):
                yield (
                    ready[answered][0],
                    TemporaryEmailError(f"SMTP server unreachable: {type(error).__name__}"),
                )
        finally:
            self._local.used_at = time.monotonic()
            if not clean:
                self._drop()

    def _live_connection(self) -> smtplib.SMTP:
        """This thread's connection; checked with NOOP when it has been idle (the server may have dropped it)."""
        smtp = getattr(self._local, "smtp", None)
        if smtp is not None and time.monotonic() - self._local.used_at < IDLE_CHECK_SECONDS:
            return smtp
        if smtp is not None:
            try:
                if smtp.noop()[0] == 250:
                    return smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        return self._connection()

    def _drop(self) -> None:
        """Close without QUIT: in the middle of a transaction QUIT would be read as message content."""
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        smtp = getattr(self._local, "smtp", None)
        if smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password or "")
            except BaseException:
                smtp.close()
                raise
            self._local.smtp = smtp
        return smtp


DEV_INBOX = "dev_inbox"
DEV_INBOX_COLUMNS = (
    "id bigserial PRIMARY KEY, idempotency_key text NOT NULL UNIQUE, channel text NOT NULL DEFAULT 'email', "
    "recipient text NOT NULL, subject text NOT NULL, body text NOT NULL, html text, "
    "message_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now()"
)


def create_dev_inbox(conn: psycopg.Connection[Any], schema: str) -> None:
    """Create the dev inbox table (idempotent, safe when several processes start at once)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(727004)")
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} (" + DEV_INBOX_COLUMNS + ")").format(
                sql.Identifier(schema), sql.Identifier(DEV_INBOX)
            )
        )


class DevInboxSender:
    """`consulta dev` and tests: messages land in a table, read on the /dev/inbox page.

    Sending the same idempotency key twice stores one message and returns its id.
    """

    channel = "email"

    def __init__(
        self, database_url: str, schema: str = "read", sender: str = "Consulta <no-reply@localhost>"
    ) -> None:
        self.database_url, self.schema, self.sender = database_url, schema, sender
        self._ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DevInboxSender:
        return cls(settings.database_url, settings.read_schema, settings.smtp_from)

    def send(
        self,
        to: str,
        subject: str,
        text: str,
        html: str | None,
        idempotency_key: str,
        attachments: Sequence[Attachment] = (),
    ) -> str:
        """Attachments are named at the end of the stored text (the page shows text only)."""
        if attachments:
            text = text + "\n" + "\n".join(f"[{name}]" for name, _, _ in attachments)
        return self.store(to, subject, text, html, idempotency_key)

    def send_many(self, messages: Sequence[Outgoing]) -> Outcomes:
        return send_each(self, messages)

    def store(self, to: str, subject: str, text: str, html: str | None, idempotency_key: str) -> str:
        table = sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(DEV_INBOX))
        message_id = message_id_for(idempotency_key, self.sender)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            if not self._ready:
                create_dev_inbox(conn, self.schema)
                self._ready = True
            row = conn.execute(
                sql.SQL(
                    "INSERT INTO {} (idempotency_key, channel, recipient, subject, body, html, message_id) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING "
                    "RETURNING message_id"
                ).format(table),
                (idempotency_key, self.channel, to, subject, text, html, message_id),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    sql.SQL("SELECT message_id FROM {} WHERE idempotency_key = %s").format(table),
                    (idempotency_key,),
                ).fetchone()
        assert row is not None
        return str(row[0])


def email_sender(settings: Settings) -> EmailSender:
    """The configured sender: SMTP when SMTP_HOST is set, else the dev inbox (dev and test only)."""
    if settings.smtp_host:
        return SmtpSender.from_settings(settings)
    if settings.is_dev:
        return DevInboxSender.from_settings(settings)
    raise RuntimeError("SMTP_HOST must be set in production to send e-mail")
