"""Delivering one due notification, exactly once as far as we can tell.

`Deliverer.deliver(key)` is what the actor runs. In one transaction it locks
the due row (`FOR UPDATE SKIP LOCKED`: a second copy of the message, running
at the same time, finds it locked and does nothing), returns when the row is
done or `notification_sent` already has the key, re-reads the appointment(s)
and skips what is no longer relevant (cancelled, moved, past, no address,
channel turned off), postpones an SMS out of the quiet hours, sends, and
records the provider's id with the row done, in the same transaction.

A temporary failure (server down, 4xx) puts the row back with a later
`due_at` (exponential backoff) for the scheduler to claim again; after
`max_attempts`, or on a permanent failure, the row is marked failed: the
dead letters that `consulta notifications failed` lists and `retry` replays.
Both live in PostgreSQL, so losing Redis loses neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from consulta.projections.notification_policy import quiet_until

from .calendar import appointment_ics
from .email import Attachment, EmailSender, PermanentEmailError, TemporaryEmailError
from .messages import item, render
from .sms import PermanentSmsError, SmsSender, TemporarySmsError

log = logging.getLogger(__name__)

TEMPORARY = (TemporaryEmailError, TemporarySmsError)
PERMANENT = (PermanentEmailError, PermanentSmsError)

_APPOINTMENTS = (
    "SELECT a.id, a.practitioner_id, a.profile_id, a.starts_at, a.ends_at, a.mode, a.status, a.version,"
    " p.name AS practice, p.address, p.timezone, p.account_id AS practitioner_account,"
    " coalesce(m.name, a.motif_id) AS motif"
    " FROM {s}.notify_appointments a JOIN {s}.notify_practitioners p ON p.id = a.practitioner_id"
    " LEFT JOIN {s}.notify_motifs m ON m.practitioner_id = a.practitioner_id AND m.motif_id = a.motif_id"
)
_PATIENT = (
    "SELECT f.first_name, f.last_name, coalesce(nullif(f.email, ''), acc.email) AS email, f.phone,"
    " coalesce(pref.language, acc.language, 'fr') AS language, coalesce(pref.email, true) AS email_on,"
    " coalesce(pref.sms, true) AS sms_on, pref.timezone AS zone"
    " FROM {s}.notify_profiles f LEFT JOIN {s}.notify_accounts acc ON acc.id = f.manager_id"
    " LEFT JOIN {s}.notify_preferences pref ON pref.account_id = f.manager_id WHERE f.id = %s"
)
_STAFF = (
    "SELECT acc.email, '' AS phone, coalesce(acc.language, 'fr') AS language, true AS email_on, false AS sms_on"
    " FROM {s}.notify_accounts acc WHERE acc.id = %s"
)


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
        """Send several notifications on one database connection, one transaction each.

        Each key is locked, sent and recorded in its own transaction, so a crash
        leaves every earlier key of the batch recorded as sent. A key that
        raises does not stop the others; the message is then retried. Once a channel
        fails for a temporary reason (the server is down), the batch's other
        messages on that channel are put back with the same backoff, untried.
        """
        down: dict[str, str] = {}
        outcomes: list[str] = []
        broken: Exception | None = None
        with self.pool.connection() as conn:
            for key in keys:
                try:
                    outcomes.append(self._deliver_on(conn, key, down))
                except psycopg.OperationalError:
                    raise  # the database is gone: the whole message is retried, done keys are skipped
                except Exception as error:  # one key's fault must not hold back the others of the batch
                    log.warning("notification %s raised %s", key.partition(":")[0], type(error).__name__)
                    outcomes.append(f"error: {type(error).__name__}")
                    broken = broken or error
        if broken is not None:
            raise broken  # dramatiq retries the message: the keys done meanwhile are skipped
        return outcomes

    def _deliver_on(self, conn: psycopg.Connection[Any], key: str, down: dict[str, str]) -> str:
        # Pipeline mode: BEGIN travels with the locking read, the record with COMMIT.
        with conn.pipeline(), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                self.q(
                    "SELECT d.*, EXISTS (SELECT 1 FROM {s}.notification_sent t WHERE t.key = d.key) AS sent_before"
                    " FROM {s}.notification_due d WHERE d.key = %s FOR UPDATE OF d SKIP LOCKED"
                ),
                (key,),
            )
            due = cur.fetchone()
            if due is None:
                return "busy or unknown"
            if due["done_at"] is not None or due["failed_at"] is not None:
                return "already done"
            if due["sent_before"]:
                return self._finish(cur, key, "sent before")
            now = self.clock()
            reason, message = self._compose(cur, due, now)
            if message is None:
                return self._finish(cur, key, f"skipped: {reason}")
            address, rendered, zone, channel, items = message
            if channel == "sms":
                later = quiet_until(now, zone)
                if later is not None:
                    cur.execute(
                        self.q(
                            "UPDATE {s}.notification_due SET due_at = %s, claimed_at = NULL WHERE key = %s"
                        ),
                        (later, key),
                    )
                    return "postponed: quiet hours"
            if channel in down:
                return self._retry_later(cur, due, down[channel], now)
            try:
                if channel == "sms":
                    assert self.sms is not None
                    provider_id = self.sms.send(address, rendered.sms, key)
                else:
                    provider_id = self.email.send(
                        address, rendered.subject, rendered.text, None, key, self._calendar(due, items, now)
                    )
            except TEMPORARY as error:
                down[channel] = str(error)
                return self._retry_later(cur, due, str(error), now)
            except PERMANENT as error:
                return self._fail(cur, key, str(error))
            cur.execute(
                self.q(
                    "WITH sent AS (INSERT INTO {s}.notification_sent (key, channel, provider_id) VALUES (%s, %s, %s))"
                    " UPDATE {s}.notification_due SET done_at = now(), outcome = 'sent' WHERE key = %s"
                ),
                (key, channel, provider_id, key),
            )
            return "sent"

    @staticmethod
    def _calendar(due: dict[str, Any], items: list[dict[str, Any]], now: datetime) -> list[Attachment]:
        """The patient's confirmation and move notices carry the appointment as an .ics file."""
        if due["kind"] not in ("confirmation", "moved"):
            return []
        a = items[0]
        return [("rendez-vous.ics", "text/calendar; method=PUBLISH", appointment_ics(a, a["ends_at"], now))]

    def _finish(self, cur: psycopg.Cursor[Any], key: str, outcome: str) -> str:
        cur.execute(
            self.q("UPDATE {s}.notification_due SET done_at = now(), outcome = %s WHERE key = %s"),
            (outcome, key),
        )
        return outcome

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

    def _compose(self, cur: psycopg.Cursor[Any], due: dict[str, Any], now: datetime) -> tuple[str, Any]:
        kind, channel = due["kind"], due["channel"]
        if kind == "daily_summary":  # a practitioner's day, read now (workers/summary.py)
            from .summary import compose_summary  # here, to keep this change inside _compose

            return compose_summary(cur, self.q, due, now, self.base_url)
        if kind == "tele_invitation":  # its secrets sealed in the event, opened now (workers/invitation.py)
            from .invitation import compose_invitation

            return compose_invitation(self, cur, due, now)
        if kind == "reminder":
            cur.execute(
                self.q(
                    _APPOINTMENTS + " WHERE a.profile_id = %s AND a.day = %s AND a.status = 'booked'"
                    " AND a.starts_at > %s ORDER BY a.starts_at"
                ),
                (due["profile_id"], due["day"], now),
            )
        else:
            cur.execute(self.q(_APPOINTMENTS + " WHERE a.id = %s"), (due["appointment_id"],))
        rows = cur.fetchall()
        if not rows:
            return "no appointment still to come", None
        first = rows[0]
        if first["starts_at"] <= now:
            return "appointment past", None
        if (
            kind in ("confirmation", "moved", "alert_confirmation", "alert_moved")
            and first["status"] != "booked"
        ):
            return "appointment closed", None
        if kind in ("moved", "alert_moved") and due["key"].rsplit(":", 1)[1] != str(first["version"]):
            return "moved again since", None
        if kind in ("cancelled", "alert_cancelled") and first["status"] != "cancelled":
            return "not cancelled", None
        if kind.startswith("alert_"):
            cur.execute(self.q(_STAFF), (first["practitioner_account"],))
        else:
            cur.execute(self.q(_PATIENT), (first["profile_id"],))
        person = cur.fetchone()
        if person is None:
            return "no recipient", None
        address = person["phone"] if channel == "sms" else person["email"]
        if not address:
            return f"no {channel} address", None
        if not person[f"{channel}_on"]:
            return f"{channel} turned off by the patient", None
        if channel == "sms" and self.sms is None:
            return "no SMS gateway", None
        items = [item(r, self.base_url) for r in rows]
        name = f"{person.get('first_name', '')} {person.get('last_name', '')}".strip()
        patient = name
        if kind.startswith("alert_"):
            cur.execute(
                self.q("SELECT first_name, last_name FROM {s}.notify_profiles WHERE id = %s"),
                (first["profile_id"],),
            )
            p = cur.fetchone()
            patient = f"{p['first_name']} {p['last_name']}" if p else ""
        rendered = render(
            kind, person["language"], {"a": items[0], "items": items, "name": name, "patient": patient}
        )
        return "", (address, rendered, person.get("zone") or first["timezone"], channel, items)
