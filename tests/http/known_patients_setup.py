"""A practice with a motif closed to new patients, and patients it knows or not (through the real commands)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from consulta.application import Actor, Consulta
from consulta.services import Services
from tests.factories import MOTIFS, make_patient, make_practitioner

FOLLOW_UP = {
    "id": "follow-up",
    "name": "Follow-up visit",
    "duration_minutes": 15,
    "modes": ["practice"],
    "new_patients": False,
}
NOTE_FR = "Réservé aux patients déjà suivis par ce praticien : appelez le cabinet."
NOTE_EN = "Reserved for patients already followed by this practitioner: please call the practice."


@dataclass(frozen=True)
class Practice:
    practitioner_id: UUID
    staff: Actor
    known: Actor  # own profile seen once
    known_profile: UUID
    known_email: str
    stranger: Actor  # never seen
    stranger_profile: UUID
    stranger_email: str
    parent: Actor  # own profile never seen; their child seen once
    parent_profile: UUID
    child_profile: UUID
    parent_email: str


def seen_once(
    app: Consulta,
    practitioner_id: UUID,
    staff: Actor,
    patient: Actor,
    profile_id: UUID,
    now: datetime,
    nth: int,
) -> int:
    """Book `profile_id` two or three weeks ago (as then) and mark it honoured: a KnownPatient."""
    rules = app.get_practitioner(practitioner_id).rules
    today = rules.local_day(now)
    past = [s for back in range(14, 22) for s in rules.slots_on(today - timedelta(days=back), "consult")]
    slot = past[nth]
    then = slot.starts_at - timedelta(days=1)
    booked = app.book(patient, practitioner_id, "consult", slot.mode, slot.starts_at, profile_id, then)
    return app.mark_honoured(staff, booked.id, slot.ends_at + timedelta(minutes=5)).position


def make_practice(services: Services, name: str) -> Practice:
    app, now = services.app, services.clock.now()
    pid, staff, position = make_practitioner(app, now, name=name, motifs=[*MOTIFS, FOLLOW_UP])
    known, known_profile, known_email = make_patient(app, now, "Alice", "Suivie")
    stranger, stranger_profile, stranger_email = make_patient(app, now, "Bruno", "Nouveau")
    parent, parent_profile, parent_email = make_patient(app, now, "Paul", "Parent")
    child_profile = app.add_profile(parent, "Chloe", "Parent", date(2015, 3, 4), now).id
    position = max(
        position,
        seen_once(app, pid, staff, known, known_profile, now, 0),
        seen_once(app, pid, staff, parent, child_profile, now, 1),
    )
    assert services.wait_for(position)
    return Practice(
        pid, staff, known, known_profile, known_email, stranger, stranger_profile, stranger_email,
        parent, parent_profile, child_profile, parent_email,
    )  # fmt: skip


def section(html: str, motif_name: str) -> str:
    """The practitioner page's section of one motif."""
    for part in re.findall(r'<section class="motif".*?</section>', html, flags=re.S):
        if f">{motif_name} <" in part:
            return part
    raise AssertionError(f"no section for {motif_name}")
