"""`notifications`: who to tell what and when, as due rows (docs/notifications.md).

Each booking, move and cancellation writes rows in `notification_due`, in the
same transaction as the projection's position: a row per message (its `key`
names it: "confirmation:email:<appointment>", "reminder:sms:1:<profile>:<day>").
The scheduler claims rows whose `due_at` has come; a worker sends them.
Reminders are grouped per profile, channel and local day: several appointments
on one day make one message. The small copies of practitioners, profiles,
accounts and appointments kept here are what the worker reads to decide
whether a message is still relevant and to whom it goes.

`notification_sent` (what went out, with the provider's id) is not rebuilt:
`drop_statements` leaves it, so a rebuild never sends anything twice.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from consulta.aggregates.account import Account, Profile
from consulta.aggregates.appointment import Appointment
from consulta.aggregates.consultation import Consultation
from consulta.aggregates.identity import Identity
from consulta.aggregates.notification_settings import NotificationPolicy, NotificationPreferences
from consulta.aggregates.practitioner import Practitioner

from . import daily_summary, tele_invitations
from .base import Projection
from .notification_policy import DEFAULT_POLICY, reminders

DUE_CHANNEL = "consulta_due"  # NOTIFY'd when rows are written, so the scheduler wakes at once
SENT_TABLE = "notification_sent"
SENT_COLUMNS = "key text PRIMARY KEY, channel text NOT NULL, provider_id text NOT NULL, sent_at timestamptz NOT NULL DEFAULT now()"

_WAKE_SCHEDULER = f"SELECT pg_notify('{DUE_CHANNEL}', '')"
# Up to seven rows an event, in one statement (`rows`: as many _DUE_ROW as there are).
_DUE_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s)"
_DUE = (
    "INSERT INTO {{notification_due}} (key, kind, channel, appointment_id, profile_id, practitioner_id, day, due_at)"
    " VALUES {rows} ON CONFLICT (key) DO UPDATE SET due_at = LEAST("
    "{{notification_due}}.due_at, EXCLUDED.due_at) WHERE {{notification_due}}.done_at IS NULL"
)


class Notifications(Projection):
    name = "notifications"
    tables = {
        "notification_due": (
            "key text PRIMARY KEY, kind text NOT NULL, channel text NOT NULL, appointment_id uuid,"
            " profile_id uuid, practitioner_id uuid, day date, due_at timestamptz NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now(), claimed_at timestamptz, attempts int NOT NULL DEFAULT 0,"
            " last_error text, done_at timestamptz, outcome text, failed_at timestamptz"
        ),
        "notify_practitioners": (
            "id uuid PRIMARY KEY, account_id uuid NOT NULL, name text NOT NULL, address text NOT NULL,"
            " timezone text NOT NULL"
        ),
        "notify_motifs": "practitioner_id uuid, motif_id text, name text NOT NULL, PRIMARY KEY (practitioner_id, motif_id)",
        "notify_accounts": (
            "id uuid PRIMARY KEY, identity_id uuid NOT NULL, email text NOT NULL, role text NOT NULL, language text"
        ),
        "notify_profiles": (
            "id uuid PRIMARY KEY, manager_id uuid, first_name text NOT NULL, last_name text NOT NULL,"
            " email text NOT NULL DEFAULT '', phone text NOT NULL DEFAULT ''"
        ),
        "notify_appointments": (
            "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, profile_id uuid NOT NULL, motif_id text NOT NULL,"
            " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, mode text NOT NULL, status text NOT NULL,"
            " version int NOT NULL, day date NOT NULL, previous_starts_at timestamptz, reason text NOT NULL DEFAULT ''"
        ),
        daily_summary.TABLE: daily_summary.COLUMNS,  # who wants the daily agenda e-mail, at what hour
        tele_invitations.TABLE: tele_invitations.COLUMNS,  # consultations and their sealed invitation
        # Per-motif reminder policy ("*": every motif) and patients' channel choices; empty means defaults.
        "notify_policies": "practitioner_id uuid, motif_id text, policy jsonb NOT NULL, PRIMARY KEY (practitioner_id, motif_id)",
        # timezone: the patient's zone for SMS quiet hours (NULL: the practice's zone).
        "notify_preferences": (
            "account_id uuid PRIMARY KEY, email boolean NOT NULL, sms boolean NOT NULL, language text, timezone text"
        ),
    }
    # Set when projected (created_at) or by the scheduler, the worker and `notifications retry`
    # (due_at moves on retries and quiet hours): a rebuild resets them.
    worker_columns = {
        "notification_due": (
            "due_at",
            "created_at",
            "claimed_at",
            "attempts",
            "last_error",
            "done_at",
            "outcome",
            "failed_at",
        ),
        tele_invitations.TABLE: ("sealed",),  # the worker erases it once the invitation has expired
    }
    indexes = (
        "notification_due (due_at) WHERE done_at IS NULL AND failed_at IS NULL",
        "notify_appointments (profile_id, day)",
    )

    def create_statements(self) -> list[sql.Composed]:
        kept = sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} (" + SENT_COLUMNS + ")").format(
            sql.Identifier(self.schema), sql.Identifier(SENT_TABLE)
        )
        # Tables made before the column existed get it (CREATE TABLE IF NOT EXISTS leaves them as they are).
        zone = sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS timezone text").format(
            self.table("notify_preferences")
        )
        return [*super().create_statements(), kept, zone]

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events write nothing here."""

    # -- who: the copies the worker reads ----------------------------------

    @process.register
    def _(self, event: Practitioner.Registered, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_practitioners} (id, account_id, name, address, timezone) VALUES (%s, %s, %s, %s, %s)",
            (event.originator_id, event.account_id, event.name, event.address, event.policy["timezone"]),
        )
        self._contexts.pop(event.originator_id, None)

    @process.register
    def _(self, event: Practitioner.Described, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {notify_practitioners} SET name = %s, address = %s WHERE id = %s",
            (event.details["name"], event.details["address"], event.originator_id),
        )

    @process.register
    def _(self, event: Practitioner.PolicySet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {notify_practitioners} SET timezone = %s WHERE id = %s",
            (event.policy["timezone"], event.originator_id),
        )
        self._contexts.pop(event.originator_id, None)

    @process.register
    def _(self, event: Practitioner.MotifSaved, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_motifs} (practitioner_id, motif_id, name) VALUES (%s, %s, %s)"
            " ON CONFLICT (practitioner_id, motif_id) DO UPDATE SET name = EXCLUDED.name",
            (event.originator_id, event.motif["id"], event.motif["name"]),
        )

    @process.register
    def _(self, event: Account.Registered, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_accounts} (id, identity_id, email, role) VALUES (%s, %s, %s, %s)",
            (event.originator_id, Identity.id_for(event.originator_id), event.email, event.role),
        )

    @process.register
    def _(self, event: Identity.LanguageChosen, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {notify_accounts} SET language = %s WHERE identity_id = %s",
            (event.language, event.originator_id),
        )

    @process.register
    def _(self, event: Profile.Created, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_profiles} (id, manager_id, first_name, last_name) VALUES (%s, %s, %s, %s)",
            (event.originator_id, event.manager_id, event.first_name, event.last_name),
        )

    @process.register
    def _(self, event: Profile.ContactSet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {notify_profiles} SET phone = %s, email = %s WHERE id = %s",
            (event.phone, event.email, event.originator_id),
        )

    @process.register
    def _(self, event: Profile.ManagerChanged, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {notify_profiles} SET manager_id = %s WHERE id = %s",
            (event.manager_id, event.originator_id),
        )

    @process.register
    def _(self, event: NotificationPreferences.ChannelsChosen, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_preferences} (account_id, email, sms) VALUES (%s, %s, %s)"
            " ON CONFLICT (account_id) DO UPDATE SET email = EXCLUDED.email, sms = EXCLUDED.sms",
            (event.account_id, event.email, event.sms),
        )

    @process.register
    def _(self, event: NotificationPreferences.ZoneChosen, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_preferences} (account_id, email, sms, timezone) VALUES (%s, true, true, %s)"
            " ON CONFLICT (account_id) DO UPDATE SET timezone = EXCLUDED.timezone",
            (event.account_id, event.zone or None),
        )

    @process.register
    def _(self, event: NotificationPolicy.PolicySet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {notify_policies} (practitioner_id, motif_id, policy) VALUES (%s, %s, %s)"
            " ON CONFLICT (practitioner_id, motif_id) DO UPDATE SET policy = EXCLUDED.policy",
            (event.practitioner_id, event.motif_id, Jsonb(event.policy)),
        )
        self._contexts.pop(event.practitioner_id, None)

    @process.register
    def _(self, event: NotificationPolicy.PolicyRemoved, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "DELETE FROM {notify_policies} WHERE practitioner_id = %s AND motif_id = %s",
            (event.practitioner_id, event.motif_id),
        )
        self._contexts.pop(event.practitioner_id, None)

    @process.register
    def _(self, event: NotificationPolicy.DailySummaryChosen, cur: psycopg.Cursor[Any]) -> None:
        daily_summary.chosen(self, cur, event)
        self.summaries.forget(event.practitioner_id)
        cur.execute(_WAKE_SCHEDULER)

    # -- what and when: appointments and their due rows ---------------------

    def __init__(self, schema: str) -> None:
        super().__init__(schema)
        # practitioner -> (zone, {motif or "*": policy}); this projection is the only writer of both
        # tables and sees every change in order, so the copy stays right; a miss reads the tables.
        self._contexts: dict[Any, tuple[str, dict[str, Any]]] = {}
        self.summaries = daily_summary.OptIns()  # who opted in to the daily summary, per batch

    def _context(
        self, cur: psycopg.Cursor[Any], practitioner_id: Any, motif_id: str
    ) -> tuple[str, dict[str, Any]]:
        """The practitioner's zone and the policy for this motif (the motif's, else "*", else the default)."""
        found = self._contexts.get(practitioner_id)
        if found is None:
            self.execute(
                cur,
                "SELECT p.timezone, coalesce((SELECT jsonb_object_agg(q.motif_id, q.policy) FROM {notify_policies} q"
                " WHERE q.practitioner_id = p.id), '{{}}') FROM {notify_practitioners} p WHERE p.id = %s",
                (practitioner_id,),
            )
            row = cur.fetchone()
            found = (row[0], row[1]) if row else ("Europe/Paris", {})
            self._contexts[practitioner_id] = found
        zone, policies = found
        return zone, policies.get(motif_id) or policies.get("*") or DEFAULT_POLICY

    def _schedule(
        self, cur: psycopg.Cursor[Any], a: dict[str, Any], kind: str, key: str, at: datetime, by_role: str
    ) -> None:
        """Notices now (each channel the policy keeps), reminders later, an alert when a patient acted.

        The event's rows go in one statement (a key met twice keeps its earlier time, as two upserts would)."""
        zone, policy = self._context(cur, a["practitioner_id"], a["motif_id"])
        a["day"] = a["starts_at"].astimezone(ZoneInfo(zone)).date()
        rows: dict[str, tuple[str, str, datetime]] = {}

        def due(row_key: str, row_kind: str, channel: str, due_at: datetime) -> None:
            earlier = rows.get(row_key)
            rows[row_key] = (row_kind, channel, min(due_at, earlier[2]) if earlier else due_at)

        for channel in ("email", "sms"):
            if policy.get(channel, True) and kind != "reminder":
                due(f"{kind}:{channel}:{key}", kind, channel, at)
        if kind in ("confirmation", "moved"):
            for r in reminders(policy, at, a["starts_at"]):
                due(f"reminder:{r.channel}:{r.days_before}:{a['profile_id']}:{a['day'].isoformat()}", "reminder",
                    r.channel, r.due_at)  # fmt: skip
        if by_role == "patient":
            due(f"alert_{kind}:email:{key}", f"alert_{kind}", "email", at)
        if rows:
            ids = (a["id"], a["profile_id"], a["practitioner_id"], a.get("day"))
            self.execute(
                cur,
                _DUE.format(rows=", ".join([_DUE_ROW] * len(rows))),
                [
                    v
                    for k, (row_kind, channel, due_at) in rows.items()
                    for v in (k, row_kind, channel, *ids, due_at)
                ],
            )
        cur.execute(_WAKE_SCHEDULER)

    @process.register
    def _(self, event: Appointment.Booked, cur: psycopg.Cursor[Any]) -> None:
        a = {
            "id": event.originator_id,
            "practitioner_id": event.practitioner_id,
            "profile_id": event.profile_id,
            "motif_id": event.motif_id,
            "starts_at": event.starts_at,
        }
        self._schedule(cur, a, "confirmation", str(event.originator_id), event.timestamp, event.by_role)
        daily_summary.write_day(self, cur, event.practitioner_id, a["day"], event.timestamp)
        self.execute(
            cur,
            "INSERT INTO {notify_appointments} (id, practitioner_id, profile_id, motif_id, starts_at, ends_at,"
            " mode, status, version, day) VALUES (%s, %s, %s, %s, %s, %s, %s, 'booked', %s, %s)",
            (
                event.originator_id,
                event.practitioner_id,
                event.profile_id,
                event.motif_id,
                event.starts_at,
                event.ends_at,
                event.mode,
                event.originator_version,
                a["day"],
            ),
        )

    def _appointment(self, cur: psycopg.Cursor[Any], appointment_id: Any) -> dict[str, Any] | None:
        self.execute(
            cur,
            "SELECT id, practitioner_id, profile_id, motif_id, starts_at FROM {notify_appointments} WHERE id = %s",
            (appointment_id,),
        )
        row = cur.fetchone()
        keys = ("id", "practitioner_id", "profile_id", "motif_id", "starts_at")
        return dict(zip(keys, row, strict=True)) if row else None

    @process.register
    def _(self, event: Appointment.Rescheduled, cur: psycopg.Cursor[Any]) -> None:
        a = self._appointment(cur, event.originator_id)
        if a is None:
            return
        a["starts_at"] = event.starts_at
        key = f"{event.originator_id}:{event.originator_version}"
        self._schedule(cur, a, "moved", key, event.timestamp, event.by_role)
        daily_summary.write_day(self, cur, a["practitioner_id"], a["day"], event.timestamp)
        self.execute(
            cur,
            "UPDATE {notify_appointments} SET starts_at = %s, ends_at = %s, mode = %s, version = %s, day = %s,"
            " previous_starts_at = %s WHERE id = %s",
            (
                event.starts_at,
                event.ends_at,
                event.mode,
                event.originator_version,
                a["day"],
                event.previous_starts_at,
                event.originator_id,
            ),
        )

    @process.register
    def _(self, event: Appointment.Cancelled, cur: psycopg.Cursor[Any]) -> None:
        a = self._appointment(cur, event.originator_id)
        if a is None:
            return
        self._schedule(cur, a, "cancelled", str(event.originator_id), event.timestamp, event.by_role)
        self.execute(
            cur,
            "UPDATE {notify_appointments} SET status = 'cancelled', version = %s, reason = %s WHERE id = %s",
            (event.originator_version, event.reason, event.originator_id),
        )

    @process.register
    def _(self, event: Appointment.Honoured, cur: psycopg.Cursor[Any]) -> None:
        self._closed(cur, event, "honoured")

    @process.register
    def _(self, event: Appointment.Missed, cur: psycopg.Cursor[Any]) -> None:
        self._closed(cur, event, "missed")

    def _closed(self, cur: psycopg.Cursor[Any], event: Any, status: str) -> None:
        self.execute(
            cur,
            "UPDATE {notify_appointments} SET status = %s, version = %s WHERE id = %s",
            (status, event.originator_version, event.originator_id),
        )

    # -- teleconsultation invitations (projections/tele_invitations.py) ----

    @process.register
    def _(self, event: Consultation.Scheduled, cur: psycopg.Cursor[Any]) -> None:
        tele_invitations.scheduled(self, cur, event)

    @process.register
    def _(self, event: Consultation.Invited, cur: psycopg.Cursor[Any]) -> None:
        if tele_invitations.invited(self, cur, event):
            cur.execute(_WAKE_SCHEDULER)

    @process.register
    def _(self, event: Consultation.Ended, cur: psycopg.Cursor[Any]) -> None:
        tele_invitations.ended(self, cur, event)
