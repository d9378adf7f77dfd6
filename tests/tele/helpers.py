"""A booked video appointment and its teleconsultation, through the real commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from consulta.application import Actor, Consulta
from consulta.teleconsultation import Invitation
from tests.factories import make_patient, make_practitioner


@dataclass
class Scene:
    practitioner_id: UUID
    staff: Actor
    patient: Actor
    profile_id: UUID
    appointment_id: UUID
    starts_at: datetime
    invitation: Invitation
    position: int


def video_consultation(app: Consulta, now: datetime, first: str = "Alice", last: str = "Durand") -> Scene:
    practitioner_id, staff, _ = make_practitioner(app, now)
    patient, profile_id, _ = make_patient(app, now, first, last)
    rules = app.get_practitioner(practitioner_id).rules
    day: date = rules.local_day(now) + timedelta(days=2)
    while not (slots := list(rules.slots_on(day, "consult", "video"))):
        day += timedelta(days=1)
    booked = app.book(patient, practitioner_id, "consult", "video", slots[0].starts_at, profile_id, now)
    invitation = app.open_consultation(staff, now, appointment_id=booked.id)
    return Scene(
        practitioner_id,
        staff,
        patient,
        profile_id,
        booked.id,
        slots[0].starts_at,
        invitation,
        invitation.position,
    )
