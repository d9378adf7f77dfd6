"""`agenda`: appointments, blocked periods and live holds per practitioner.

The practitioner's day and week views read it, and free slots are the
rules' slots minus what it holds. `patient_appointments` is the same story
told for the patient's "my appointments" page, in its own table so that each
can be rebuilt alone.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment

from .base import Projection

APPOINTMENT_COLUMNS = (
    "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, profile_id uuid NOT NULL, motif_id text NOT NULL,"
    " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, mode text NOT NULL,"
    " status text NOT NULL, booked_by_role text NOT NULL, booked_at timestamptz NOT NULL,"
    " closed_reason text, closed_by_role text, updated_at timestamptz NOT NULL, version int NOT NULL"
)


class AppointmentRows(Projection):
    """Writes one row per appointment into the table named by `appointments_table`."""

    appointments_table = "agenda_appointments"

    def _apt(self, statement: str) -> str:
        return statement.replace("{appointments}", "{" + self.appointments_table + "}")

    def booked(self, event: Appointment.Booked, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            self._apt(
                "INSERT INTO {appointments} (id, practitioner_id, profile_id, motif_id, starts_at, ends_at,"
                " mode, status, booked_by_role, booked_at, updated_at, version)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'booked', %s, %s, %s, %s)"
            ),
            (
                event.originator_id,
                event.practitioner_id,
                event.profile_id,
                event.motif_id,
                event.starts_at,
                event.ends_at,
                event.mode,
                event.by_role,
                event.timestamp,
                event.timestamp,
                event.originator_version,
            ),
        )

    def closed(self, event: Any, status: str, cur: psycopg.Cursor[Any], reason: str | None = None) -> None:
        self.execute(
            cur,
            self._apt(
                "UPDATE {appointments} SET status = %s, closed_reason = %s, closed_by_role = %s,"
                " updated_at = %s, version = %s WHERE id = %s"
            ),
            (status, reason, event.by_role, event.timestamp, event.originator_version, event.originator_id),
        )

    def rescheduled(self, event: Appointment.Rescheduled, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            self._apt(
                "UPDATE {appointments} SET starts_at = %s, ends_at = %s, mode = %s, updated_at = %s,"
                " version = %s WHERE id = %s"
            ),
            (
                event.starts_at,
                event.ends_at,
                event.mode,
                event.timestamp,
                event.originator_version,
                event.originator_id,
            ),
        )


def register_appointment_handlers(process: singledispatchmethod[Any]) -> None:
    """Register the Appointment event handlers of `AppointmentRows` on a projection's own dispatcher."""

    def booked(self: AppointmentRows, event: Appointment.Booked, cur: psycopg.Cursor[Any]) -> None:
        self.booked(event, cur)

    def cancelled(self: AppointmentRows, event: Appointment.Cancelled, cur: psycopg.Cursor[Any]) -> None:
        self.closed(event, "cancelled", cur, event.reason)

    def honoured(self: AppointmentRows, event: Appointment.Honoured, cur: psycopg.Cursor[Any]) -> None:
        self.closed(event, "honoured", cur)

    def missed(self: AppointmentRows, event: Appointment.Missed, cur: psycopg.Cursor[Any]) -> None:
        self.closed(event, "missed", cur)

    def rescheduled(self: AppointmentRows, event: Appointment.Rescheduled, cur: psycopg.Cursor[Any]) -> None:
        self.rescheduled(event, cur)

    process.register(Appointment.Booked, booked)
    process.register(Appointment.Cancelled, cancelled)
    process.register(Appointment.Honoured, honoured)
    process.register(Appointment.Missed, missed)
    process.register(Appointment.Rescheduled, rescheduled)


class Agenda(AppointmentRows):
    name = "agenda"
    tables = {
        "agenda_appointments": APPOINTMENT_COLUMNS,
        "agenda_days": "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, day date NOT NULL",
        "agenda_blocks": (
            "block_id uuid NOT NULL, day_id uuid NOT NULL, practitioner_id uuid NOT NULL,"
            " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, PRIMARY KEY (block_id, day_id)"
        ),
        "agenda_holds": (
            "hold_id uuid PRIMARY KEY, day_id uuid NOT NULL, practitioner_id uuid NOT NULL,"
            " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, mode text NOT NULL,"
            " held_until timestamptz NOT NULL"
        ),
    }
    indexes = (
        "agenda_appointments (practitioner_id, starts_at)",
        "agenda_blocks (practitioner_id, starts_at)",
        "agenda_holds (practitioner_id, starts_at)",
    )

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave the agenda unchanged."""

    register_appointment_handlers(process)

    @process.register
    def _(self, event: AgendaDay.Opened, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {agenda_days} (id, practitioner_id, day) VALUES (%s, %s, %s)",
            (event.originator_id, event.practitioner_id, event.day),
        )

    @process.register
    def _(self, event: AgendaDay.AppointmentPlaced, cur: psycopg.Cursor[Any]) -> None:
        if event.hold_id is not None:
            self.execute(cur, "DELETE FROM {agenda_holds} WHERE hold_id = %s", (event.hold_id,))

    @process.register
    def _(self, event: AgendaDay.SlotHeld, cur: psycopg.Cursor[Any]) -> None:
        if event.dropped:
            self.execute(cur, "DELETE FROM {agenda_holds} WHERE hold_id = ANY(%s::uuid[])", (event.dropped,))
        self.execute(
            cur,
            "INSERT INTO {agenda_holds} (hold_id, day_id, practitioner_id, starts_at, ends_at, mode,"
            " held_until) SELECT %s, d.id, d.practitioner_id, %s, %s, %s, %s FROM {agenda_days} d"
            " WHERE d.id = %s",
            (
                event.hold_id,
                event.starts_at,
                event.ends_at,
                event.mode,
                event.held_until,
                event.originator_id,
            ),
        )

    @process.register
    def _(self, event: AgendaDay.PeriodBlocked, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {agenda_blocks} (block_id, day_id, practitioner_id, starts_at, ends_at)"
            " SELECT %s, d.id, d.practitioner_id, %s, %s FROM {agenda_days} d WHERE d.id = %s",
            (event.block_id, event.starts_at, event.ends_at, event.originator_id),
        )

    @process.register
    def _(self, event: AgendaDay.BlockLifted, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "DELETE FROM {agenda_blocks} WHERE block_id = %s AND day_id = %s",
            (event.block_id, event.originator_id),
        )


class PatientAppointments(AppointmentRows):
    name = "patient_appointments"
    appointments_table = "patient_appointments"
    tables = {"patient_appointments": APPOINTMENT_COLUMNS}
    indexes = ("patient_appointments (profile_id, starts_at)",)

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave the table unchanged."""

    register_appointment_handlers(process)
