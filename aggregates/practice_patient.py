"""Who is a patient of a practice: the facts that let its staff book for a profile by id.

Staff (the practitioner, a secretary working on the agenda) may book for a
profile only when it is tied to the practice; the rule lives in
`consulta.application.Consulta._profile_for` and is described in
docs/security.md ("Booking for a patient").
"""

from __future__ import annotations

from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


class AgendaPatient(Aggregate):
    """A profile that has (or had) an appointment in a practitioner's agenda, whatever its status.

    Recorded with the profile's first appointment in that agenda, in the same
    save, whoever booked it. The id is derived from (practitioner, profile):
    two first bookings racing conflict, and the loser retries and finds it.
    """

    TOPIC = "consulta.AgendaPatient"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.AgendaPatient.Created"

    @staticmethod
    def id_for(practitioner_id: UUID, profile_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/agenda-patients/{practitioner_id}/{profile_id}")

    @classmethod
    def create_id(cls, practitioner_id: UUID, profile_id: UUID, appointment_id: UUID, by: UUID) -> UUID:
        return cls.id_for(practitioner_id, profile_id)

    @event("Recorded", topic="consulta.AgendaPatient.Recorded")
    def __init__(self, practitioner_id: UUID, profile_id: UUID, appointment_id: UUID, by: UUID) -> None:
        self.practitioner_id = practitioner_id
        self.profile_id = profile_id
        self.first_appointment_id = appointment_id


def names_the_profile(last_name: str, birth_date: date, profile_last_name: str, profile_birth: date) -> bool:
    """The patient's last name (case and spacing aside) and birth date, as the staff's search matches them."""
    wanted = " ".join(last_name.split()).lower()
    return bool(wanted) and wanted == profile_last_name.lower() and birth_date == profile_birth
