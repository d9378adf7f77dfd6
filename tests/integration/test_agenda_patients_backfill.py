"""Appointments booked before AgendaPatient existed: `python -m consulta.agenda_patients` records their index."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError

from consulta.agenda_patients import record_agenda_patients
from consulta.aggregates.appointment import Appointment
from consulta.aggregates.errors import ForbiddenError
from consulta.aggregates.practice_patient import AgendaPatient
from tests.factories import make_patient, make_practitioner


def test_an_appointment_booked_before_the_index_gets_it_once(services, settings, now) -> None:  # type: ignore[no-untyped-def]
    app = services.app
    practitioner_id, staff, position = make_practitioner(app, now)
    patient, profile_id, _ = make_patient(app, now, "Olga", "Ancienne")
    assert services.wait_for(position)
    # As an earlier version recorded a booking: the appointment alone, no AgendaPatient beside it.
    start = now + timedelta(days=30)
    app.save(Appointment(id=uuid4(), practitioner_id=practitioner_id, profile_id=profile_id, motif_id="consult",
                         starts_at=start, ends_at=start + timedelta(minutes=20), mode="practice",
                         by=patient.account_id, by_role="patient"))  # fmt: skip
    card = services.reads.practitioner(practitioner_id)
    slot = services.reads.free_slots(card, "consult", now + timedelta(days=2), now + timedelta(days=9), now)[
        0
    ]
    with pytest.raises(ForbiddenError):
        app.book(staff, practitioner_id, "consult", slot.mode, slot.starts_at, profile_id, now)
    with pytest.raises(AggregateNotFoundError):
        app.repository.get(AgendaPatient.id_for(practitioner_id, profile_id))
    assert record_agenda_patients(app) >= 1
    assert app.repository.get(AgendaPatient.id_for(practitioner_id, profile_id)).profile_id == profile_id
    assert app.book(staff, practitioner_id, "consult", slot.mode, slot.starts_at, profile_id, now).created
    # Again, as the command line runs it: nothing left to record.
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CONSULTA_ENV": "test"}
    ran = subprocess.run([sys.executable, "-m", "consulta.agenda_patients"], env=env, capture_output=True,
                         text=True, timeout=120, check=True)  # fmt: skip
    assert ran.stdout.strip() == "Recorded 0 patient(s) of agendas booked before AgendaPatient."
