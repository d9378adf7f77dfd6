"""`waiting_room`: one row per teleconsultation, for the practitioner's dashboard,
the patient's waiting page, and the analysts.

Analysts read `wait_seconds` (identity confirmed to admitted) and
`call_seconds` (both sides first present to the end); `patient_joins` counts
the patient's joins (more than one: a reload or a network drop).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from consulta.aggregates.consultation import Consultation

from .base import Projection


class WaitingRoom(Projection):
    name = "waiting_room"
    tables = {
        "waiting_room": (
            "consultation_id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, profile_id uuid NOT NULL,"
            " appointment_id uuid, starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL,"
            " status text NOT NULL, scheduled_at timestamptz NOT NULL, invited_at timestamptz,"
            " checked_in_at timestamptz, consented_at timestamptz, admitted_at timestamptz,"
            " ended_at timestamptz, outcome text, identity_failures int NOT NULL DEFAULT 0,"
            " patient_present boolean NOT NULL DEFAULT false, practitioner_present boolean NOT NULL DEFAULT false,"
            " patient_joins int NOT NULL DEFAULT 0, practitioner_joins int NOT NULL DEFAULT 0,"
            " call_started_at timestamptz, updated_at timestamptz NOT NULL,"
            " wait_seconds double precision GENERATED ALWAYS AS"
            " (extract(epoch FROM (admitted_at - checked_in_at))::double precision) STORED,"
            " call_seconds double precision GENERATED ALWAYS AS"
            " (extract(epoch FROM (ended_at - call_started_at))::double precision) STORED"
        ),
    }
    indexes = ("waiting_room (practitioner_id, status, starts_at)",)

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave this table unchanged."""

    def _set(
        self, cur: psycopg.Cursor[Any], event: Any, assignments: str, params: tuple[Any, ...] = ()
    ) -> None:
        self.execute(
            cur,
            # `assignments` are this module's own constant SQL fragments, never input.
            "UPDATE {waiting_room} SET " + assignments + ", updated_at = %s WHERE consultation_id = %s",  # noqa: S608
            (*params, event.at, event.originator_id),
        )

    @process.register
    def _(self, event: Consultation.Scheduled, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {waiting_room} (consultation_id, practitioner_id, profile_id, appointment_id, starts_at,"
            " ends_at, status, scheduled_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'scheduled', %s, %s)",
            (
                event.originator_id, event.practitioner_id, event.profile_id, event.appointment_id,
                event.starts_at, event.ends_at, event.at, event.at,
            ),
        )  # fmt: skip

    @process.register
    def _(self, event: Consultation.Invited, cur: psycopg.Cursor[Any]) -> None:
        self._set(cur, event, "invited_at = %s", (event.at,))

    @process.register
    def _(self, event: Consultation.IdentityRefused, cur: psycopg.Cursor[Any]) -> None:
        self._set(cur, event, "identity_failures = identity_failures + 1")

    @process.register
    def _(self, event: Consultation.CheckedIn, cur: psycopg.Cursor[Any]) -> None:
        self._set(
            cur,
            event,
            "checked_in_at = %s, status = CASE WHEN status = 'scheduled' THEN 'checked_in' ELSE status END",
            (event.at,),
        )

    @process.register
    def _(self, event: Consultation.ConsentRecorded, cur: psycopg.Cursor[Any]) -> None:
        self._set(
            cur, event, "consented_at = %s, status = CASE WHEN status = 'checked_in' THEN 'waiting' ELSE status END",
            (event.at,),
        )  # fmt: skip

    @process.register
    def _(self, event: Consultation.Admitted, cur: psycopg.Cursor[Any]) -> None:
        self._set(cur, event, "admitted_at = %s, status = 'admitted'", (event.at,))

    @process.register
    def _(self, event: Consultation.Joined, cur: psycopg.Cursor[Any]) -> None:
        side = "patient" if event.side == "patient" else "practitioner"
        other = "practitioner" if side == "patient" else "patient"
        self._set(
            cur,
            event,
            f"{side}_present = true, {side}_joins = {side}_joins + 1,"
            f" call_started_at = COALESCE(call_started_at, CASE WHEN {other}_present THEN %s::timestamptz END)",
            (event.at,),
        )

    @process.register
    def _(self, event: Consultation.Left, cur: psycopg.Cursor[Any]) -> None:
        side = "patient" if event.side == "patient" else "practitioner"
        self._set(cur, event, f"{side}_present = false")

    @process.register
    def _(self, event: Consultation.Ended, cur: psycopg.Cursor[Any]) -> None:
        self._set(
            cur,
            event,
            "ended_at = %s, outcome = %s, status = 'ended', patient_present = false, practitioner_present = false",
            (event.at, event.outcome),
        )


class WaitingRoomQueries:
    """What the pages read: the practitioner's list (who waits, since when) and one consultation's row."""

    def __init__(self, reads: Any) -> None:
        self.pool, self.schema = reads.pool, reads.schema

    def _rows(self, statement: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        query = sql.SQL(statement).format(
            waiting_room=sql.Identifier(self.schema, "waiting_room"),
            profiles=sql.Identifier(self.schema, "profiles"),
        )
        with self.pool.connection() as conn:
            return list(conn.execute(query, params).fetchall())

    def for_practitioner(self, practitioner_id: UUID) -> list[dict[str, Any]]:
        """Open consultations, those waiting first (longest wait first), then by start time."""
        return self._rows(
            "SELECT w.*, p.first_name, p.last_name FROM {waiting_room} w LEFT JOIN {profiles} p"
            " ON p.id = w.profile_id WHERE w.practitioner_id = %s AND w.status <> 'ended'"
            " ORDER BY (w.status = 'waiting') DESC, w.consented_at NULLS LAST, w.starts_at",
            (practitioner_id,),
        )

    def one(self, consultation_id: UUID) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM {waiting_room} WHERE consultation_id = %s", (consultation_id,))
        return rows[0] if rows else None
