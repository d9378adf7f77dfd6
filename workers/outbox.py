"""Delivering due notifications, exactly once as far as we can tell.

`Deliverer.deliver_many(keys)` is what the actor runs (`deliver(key)` is a
batch of one). On one database connection, in autocommit:

1. It takes a session advisory lock per key (`pg_try_advisory_lock`): a second
   copy of the message, running at the same time in another worker, finds the
   key taken and does nothing ("busy or unknown"). The locks live as long as
   the connection: a worker killed mid-batch loses them at once, so the
   redelivered message can go ahead.
2. Once locked, it reads the batch's due rows and what they need (the
   appointments, the people: workers/appointment_messages.py) in a few
   statements for the whole batch, and skips a key already done or already
   recorded in `notification_sent`.
3. For each key it skips what is no longer relevant (cancelled, moved, past,
   no address, channel turned off), postpones an SMS out of the quiet hours
   or sends it; the e-mails then go together on one SMTP connection
   (`EmailSender.send_many`). Each sent message's provider id is recorded
   (`notification_sent`) with the row done, in one statement committed as
   soon as the server has accepted that message, before the next outcome is
   read. Only that one message can go twice if the worker dies between the
   server's acceptance and the commit.
4. The outcomes that send nothing (skips, postponements) are written in one
   statement at the end, and the locks are released.

A temporary failure (server down, 4xx) puts the row back with a later
`due_at` (exponential backoff) for the scheduler to claim again; after
`max_attempts`, or on a permanent failure, the row is marked failed: the
dead letters that `consulta notifications failed` lists and `retry` replays.
Both live in PostgreSQL, so losing Redis loses neither.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from consulta.projections.notification_policy import quiet_until

from .appointment_messages import Batch, compose
from .calendar import appointment_ics
from .email import Attachment, EmailSender, Outgoing, PermanentEmailError, TemporaryEmailError
from .sms import PermanentSmsError, SmsSender, TemporarySmsError

log = logging.getLogger(__name__)

TEMPORARY = (TemporaryEmailError, TemporarySmsError)
PERMANENT = (PermanentEmailError, PermanentSmsError)

LOCK_CLASS = 727005  # the first key of the advisory locks on notification keys (the second: hashtext(key))

_LOCK = "SELECT k FROM unnest(%s::text[]) AS u(k) WHERE pg_try_advisory_lock(%s::int, hashtext(k))"
_DUE = (
    "SELECT d.*, EXISTS (SELECT 1 FROM {s}.notification_sent t WHERE t.key = d.key) AS sent_before"
    " FROM {s}.notification_due d WHERE d.key = ANY(%s)"
)
_SENT = (
    "WITH sent AS (INSERT INTO {s}.notification_sent (key, channel, provider_id) VALUES (%s, %s, %s))"
    " UPDATE {s}.notification_due SET done_at = now(), outcome = 'sent' WHERE key = %s"
)
_FINISH = (
    "UPDATE {s}.notification_due d SET done_at = now(), outcome = o.outcome"
    " FROM unnest(%s::text[], %s::text[]) AS o(key, outcome) WHERE d.key = o.key"
)
_POSTPONE = (
    "UPDATE {s}.notification_due d SET due_at = o.due_at, claimed_at = NULL"
    " FROM unnest(%s::text[], %s::timestamptz[]) AS o(key, due_at) WHERE d.key = o.key"
)


def _error(key: str, error: Exception) -> str:
    log.warning("notification %s raised %s", key.partition(":")[0], type(error).__name__)
    return f"error: {type(error).__name__}"


class Deliverer:
    def __init__(
        self,
        pool: ConnectionPool,
        schema: str,
        email: EmailSender,
        sms: SmsSender | None,
        base_url: str,
        clock: Callable[[], datetime],
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=15),
    ) -> None:
        self.pool, self.schema, self.email, self.sms = pool, schema, email, sms
        self.base_url, self.clock = base_url.rstrip("/"), clock
        self.max_attempts, self.backoff = max_attempts, backoff
        self._sql: dict[str, sql.Composed] = {}

    def q(self, statement: str) -> sql.Composed:
        found = self._sql.get(statement)
        if found is None:
            found = self._sql[statement] = sql.SQL(statement).format(s=sql.Identifier(self.schema))
        return found

    def deliver(self, key: str) -> str:
        """Send the notification `key` unless already done; returns what happened (no personal data)."""
        return self.deliver_many([key])[0]

    def deliver_many(self, keys: Sequence[str]) -> list[str]:
        """Send several notifications on one database connection; outcomes in the order of `keys`.

        Each sent message is recorded as soon as the server has accepted it, so a
        crash leaves every earlier key of the batch recorded as sent. A key that
        raises does not stop the others; the message is then retried. Once a channel
        fails for a temporary reason (the server is down), the batch's other
        messages on that channel are put back with the same backoff, untried.
        """
        with self.pool.connection() as conn:
            if not conn.autocommit:
                conn.autocommit = True
            try:
                return self._deliver_on(conn, list(keys))
            finally:
                self._unlock(conn)

    @staticmethod
    def _unlock(conn: psycopg.Connection[Any]) -> None:
        try:
            conn.execute("SELECT pg_advisory_unlock_all()")
        except Exception:
            # A connection that may still hold locks must not go back to the pool: close it, the server frees them.
            with contextlib.suppress(Exception):
                conn.close()

    def _deliver_on(self, conn: psycopg.Connection[Any], keys: list[str]) -> list[str]:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_LOCK, (keys, LOCK_CLASS))
            locked = {r["k"] for r in cur.fetchall()}
            # Read after the locks are held: a copy that sent and recorded a key before we locked it is seen.
            dues: dict[str, dict[str, Any]] = {}
            if locked:
                cur.execute(self.q(_DUE), (list(locked),))
                dues = {d["key"]: d for d in cur.fetchall()}
            now = self.clock()
            pending = [
                d
                for d in dues.values()
                if d["done_at"] is None and d["failed_at"] is None and not d["sent_before"]
            ]
            batch = Batch(self.q, cur, pending)
            down: dict[str, str] = {}
            finished: dict[str, str] = {}
            postponed: dict[str, datetime] = {}
            emails: list[tuple[dict[str, Any], Outgoing]] = []
            outcomes: list[str | None] = []  # None: an e-mail, its outcome known once sent
            broken: Exception | None = None
            seen: set[str] = set()
            for key in keys:
                due = dues.get(key) if key in locked else None
                if due is None:
                    outcomes.append("busy or unknown")
                elif key in seen or due["done_at"] is not None or due["failed_at"] is not None:
                    outcomes.append("already done")
                elif due["sent_before"]:
                    finished[key] = "sent before"
                    outcomes.append("sent before")
                else:
                    try:
                        outcomes.append(
                            self._prepare(cur, due, batch, now, down, finished, postponed, emails)
                        )
                    except psycopg.OperationalError:
                        raise  # the database is gone: the whole message is retried, done keys are skipped
                    except Exception as error:  # one key's fault must not hold back the others of the batch
                        outcomes.append(_error(key, error))
                        broken = broken or error
                seen.add(key)
            results, failure = self._send_emails(cur, emails, now)
            broken = broken or failure
            if finished:
                cur.execute(self.q(_FINISH), (list(finished), list(finished.values())))
            if postponed:
                cur.execute(self.q(_POSTPONE), (list(postponed), list(postponed.values())))
        if broken is not None:
            raise broken  # dramatiq retries the message: the keys done meanwhile are skipped
        return [
            results[key] if outcome is None else outcome for key, outcome in zip(keys, outcomes, strict=True)
        ]

    def _prepare(
        self,
        cur: psycopg.Cursor[Any],
        due: dict[str, Any],
        batch: Batch,
        now: datetime,
        down: dict[str, str],
        finished: dict[str, str],
        postponed: dict[str, datetime],
        emails: list[tuple[dict[str, Any], Outgoing]],
    ) -> str | None:
        """Skip, postpone or send an SMS now; an e-mail joins `emails` (None), sent with the others."""
        key = due["key"]
        reason, message = self._compose(cur, due, batch, now)
        if message is None:
            finished[key] = f"skipped: {reason}"
            return finished[key]
        address, rendered, zone, channel, items = message
        try:
            if channel == "email":
                attachments = self._calendar(due, items, now)
                emails.append(
                    (due, Outgoing(address, rendered.subject, rendered.text, None, key, attachments))
                )
                return None
            later = quiet_until(now, zone)
            if later is not None:
                postponed[key] = later
                return "postponed: quiet hours"
            if channel in down:
                return self._retry_later(cur, due, down[channel], now)
            assert self.sms is not None
            provider_id = self.sms.send(address, rendered.sms, key)
        except TEMPORARY as error:
            down[channel] = str(error)
            return self._retry_later(cur, due, str(error), now)
        except PERMANENT as error:
            return self._fail(cur, key, str(error))
        cur.execute(self.q(_SENT), (key, channel, provider_id, key))  # committed now (autocommit)
        return "sent"

    def _send_emails(
        self, cur: psycopg.Cursor[Any], emails: list[tuple[dict[str, Any], Outgoing]], now: datetime
    ) -> tuple[dict[str, str], Exception | None]:
        """Send the batch's e-mails on one connection, recording each as soon as the server has accepted it.

        After a temporary failure the rest are put back with the same backoff, untried."""
        results: dict[str, str] = {}
        broken: Exception | None = None
        down: str | None = None
        if emails:
            with contextlib.closing(self.email.send_many([message for _, message in emails])) as sent:
                for index, outcome in sent:
                    due = emails[index][0]
                    key = due["key"]
                    if isinstance(outcome, str):
                        cur.execute(self.q(_SENT), (key, "email", outcome, key))  # committed now (autocommit)
                        results[key] = "sent"
                    elif isinstance(outcome, TemporaryEmailError):
                        down = str(outcome)
                        results[key] = self._retry_later(cur, due, down, now)
                        break
                    elif isinstance(outcome, PermanentEmailError):
                        results[key] = self._fail(cur, key, str(outcome))
                    else:
                        results[key] = _error(key, outcome)
                        broken = broken or outcome
        for due, _ in emails:
            if due["key"] not in results:
                if down is None:  # the sender stopped without saying why: the message is retried
                    broken = broken or RuntimeError("the e-mail sender gave no outcome")
                    results[due["key"]] = "error: no outcome"
                else:
                    results[due["key"]] = self._retry_later(cur, due, down, now)
        return results, broken

    @staticmethod
    def _calendar(due: dict[str, Any], items: list[dict[str, Any]], now: datetime) -> list[Attachment]:
        """The patient's confirmation and move notices carry the appointment as an .ics file."""
        if due["kind"] not in ("confirmation", "moved"):
            return []
        a = items[0]
        return [("rendez-vous.ics", "text/calendar; method=PUBLISH", appointment_ics(a, a["ends_at"], now))]

    def _fail(self, cur: psycopg.Cursor[Any], key: str, error: str) -> str:
        cur.execute(
            self.q(
                "UPDATE {s}.notification_due SET failed_at = now(), last_error = %s, attempts = attempts + 1"
                " WHERE key = %s"
            ),
            (error, key),
        )
        log.warning("notification %s failed for good: %s", key.partition(":")[0], error)
        return f"failed: {error}"

    def _retry_later(self, cur: psycopg.Cursor[Any], due: dict[str, Any], error: str, now: datetime) -> str:
        attempts = due["attempts"] + 1
        if attempts >= self.max_attempts:
            return self._fail(cur, due["key"], error)
        later = now + self.backoff * (2 ** (attempts - 1))
        cur.execute(
            self.q(
                "UPDATE {s}.notification_due SET due_at = %s, claimed_at = NULL, attempts = %s, last_error = %s"
                " WHERE key = %s"
            ),
            (later, attempts, error, due["key"]),
        )
        return f"retry later: {error}"

    def _compose(
        self, cur: psycopg.Cursor[Any], due: dict[str, Any], batch: Batch, now: datetime
    ) -> tuple[str, Any]:
        kind = due["kind"]
        if kind == "daily_summary":  # a practitioner's day, read now (workers/summary.py)
            from .summary import compose_summary  # here, to keep this change inside _compose

            return compose_summary(cur, self.q, due, now, self.base_url)
        if kind == "tele_invitation":  # its secrets sealed in the event, opened now (workers/invitation.py)
            from .invitation import compose_invitation

            return compose_invitation(self, cur, due, now)
        return compose(batch, due, now, self.base_url, self.sms is not None)
