"""One-off after upgrading: record the AgendaPatient of appointments booked before it existed.

    DATABASE_URL=... python -m consulta.agenda_patients

Staff book by id only for a patient of their practice; "has or had an
appointment in the agenda" is read from the `AgendaPatient` index that each
booking records since this rule (consulta.aggregates.practice_patient).
Appointments booked before it have none, so until this runs, staff book those
patients by naming them (last name and birth date), as a patient new to them.

It reads the `Appointment.Booked` events of the log and records one
`AgendaPatient` per (practitioner, profile) that has none; running it again
records nothing. Only a count is printed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from consulta.aggregates.practice_patient import AgendaPatient
from consulta.settings import Settings

BOOKED = "consulta.Appointment.Booked"
BATCH = 1000


def record_agenda_patients(app: Any) -> int:
    """Record the missing AgendaPatient of every booked appointment in the log; how many were recorded."""
    done: set[UUID] = set()
    recorded, start = 0, 1
    while batch := app.recorder.select_notifications(start=start, limit=BATCH, topics=[BOOKED]):
        for notification in batch:
            booked = app.mapper.to_domain_event(notification)
            key = AgendaPatient.id_for(booked.practitioner_id, booked.profile_id)
            if key in done:
                continue
            done.add(key)
            try:
                app.repository.get(key)
                continue
            except AggregateNotFoundError:
                pass
            try:
                app.save(
                    AgendaPatient(booked.practitioner_id, booked.profile_id, booked.originator_id, booked.by)
                )
            except IntegrityError:
                continue  # a booking recorded it meanwhile
            recorded += 1
        start = batch[-1].id + 1
    return recorded


def main() -> None:
    from consulta.application import Consulta

    app = Consulta(env={**Settings.from_env().eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        count = record_agenda_patients(app)
    finally:
        app.close()
    print(f"Recorded {count} patient(s) of agendas booked before AgendaPatient.")


if __name__ == "__main__":
    main()
