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

import contextlib
import re
import smtplib
import ssl
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg
from psycopg import sql

from consulta.settings import Settings

from .mime import Attachment as Attachment  # re-exported: outbox and tests import them from here
from .mime import message_bytes, parse_address
from .mime import message_id_for as message_id_for
from .smtp_wire import pipelined

QUEUED_AS = re.compile(rb"queued as ([A-Za-z0-9._@<>-]+)", re.IGNORECASE)


class EmailError(Exception):
    """Sending failed; the message names no recipient (no personal data in logs)."""


class TemporaryEmailError(EmailError):
    """The server is unreachable or deferred the message: try again later."""


class PermanentEmailError(EmailError):
    """The server refused the message for good (5xx)."""


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
        content, message_id = message_bytes(
            self.sender, to, subject, text, html, idempotency_key, attachments
        )
        envelope = (parse_address(self.sender)[1], parse_address(to)[1], content, message_id)
        try:
            reused = getattr(self._local, "smtp", None) is not None
            try:
                return self._transact(self._connection(), *envelope)
            except smtplib.SMTPServerDisconnected:
                self.close()
                if not reused:
                    raise
                # The server dropped an idle connection before MAIL: nothing was sent; once more on a new one.
                return self._transact(self._connection(), *envelope)
        except smtplib.SMTPResponseException as error:
            self.close()
            kind = PermanentEmailError if 500 <= error.smtp_code < 600 else TemporaryEmailError
            reply = (
                error.smtp_error.decode("utf-8", "replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            raise kind(f"SMTP server answered {error.smtp_code} {reply[:100]}".strip()) from None
        except (smtplib.SMTPException, OSError) as error:  # timeouts are OSErrors
            self.close()
            raise TemporaryEmailError(f"SMTP server unreachable: {type(error).__name__}") from None

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

    def close(self) -> None:
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()

    @staticmethod
    def _transact(smtp: smtplib.SMTP, envelope_from: str, rcpt: str, content: bytes, message_id: str) -> str:
        """`content`: the message with CRLF line ends (SMTP servers read lines up to CRLF), not dot-stuffed."""
        if smtp.has_extn("pipelining"):
            code, reply = pipelined(smtp, envelope_from, rcpt, content)
        else:
            for code, reply in (smtp.mail(envelope_from), smtp.rcpt(rcpt)):
                if code >= 400:
                    smtp.rset()
                    raise smtplib.SMTPResponseException(code, reply)
            code, reply = smtp.data(content)
        if code >= 400:
            raise smtplib.SMTPResponseException(code, reply)
        found = QUEUED_AS.search(reply or b"")
        return found.group(1).decode() if found else message_id


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
