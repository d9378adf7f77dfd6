"""Booking against the real event store and read models."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consulta.aggregates.errors import SlotTakenError
from consulta.services import BOOKING_VIEWS
from tests.factories import make_patient, make_practitioner


def test_booked_slot_leaves_free_slots_and_shows_in_my_appointments(services, now):
    app, reads = services.app, services.reads
    practitioner_id, _, position = make_practitioner(app, now)
    patient, profile_id, _ = make_patient(app, now)
    assert services.wait_for(position)
    card = reads.practitioner(practitioner_id)
    slots = reads.free_slots(card, "consult", now, now + timedelta(days=10), now)
    assert slots
    chosen = slots[3]
    outcome = app.book(patient, practitioner_id, "consult", chosen.mode, chosen.starts_at, profile_id, now)
    assert services.wait_for(outcome.position, BOOKING_VIEWS)
    after = reads.free_slots(card, "consult", now, now + timedelta(days=10), now)
    assert chosen not in after and len(after) == len(slots) - 1
    mine = reads.appointments_of_account(patient.account_id)
    assert [(m["id"], m["status"]) for m in mine] == [(outcome.id, "booked")]
    with pytest.raises(SlotTakenError):
        app.book(patient, practitioner_id, "consult", chosen.mode, chosen.starts_at, profile_id, now)
