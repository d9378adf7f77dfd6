"""An appointment: booked for a profile with a practitioner, then closed once."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import AppointmentClosedError, CancellationTooLateError, InvalidInputError, TooEarlyError

BOOKED, CANCELLED, HONOURED, MISSED = "booked", "cancelled", "honoured", "missed"
ROLES = ("patient", "practitioner", "secretary", "system")


class Appointment(Aggregate):
    """Every event records who acted (`by`, an account id, and `by_role`)."""

    TOPIC = "consulta.Appointment"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.Appointment.Created"

    @event("Booked", topic="consulta.Appointment.Booked")
    def __init__(
        self,
        id: UUID,
        practitioner_id: UUID,
        profile_id: UUID,
        motif_id: str,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        by: UUID,
        by_role: str,
    ) -> None:
        self.practitioner_id = practitioner_id
        self.profile_id = profile_id
        self.motif_id = motif_id
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.mode = mode
        self.booked_by = by
        self.booked_by_role = by_role
        self.status = BOOKED
        self.closed_reason: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == BOOKED

    def _require_open(self) -> None:
        if self.status != BOOKED:
            raise AppointmentClosedError(f"appointment is {self.status}")

    def cancel(self, by: UUID, by_role: str, reason: str, now: datetime, cutoff: timedelta | None) -> None:
        """`cutoff` applies to patients: no cancellation closer than it to the start."""
        self._require_open()
        if cutoff is not None and now > self.starts_at - cutoff:
            raise CancellationTooLateError("too late to cancel online: call the practice")
        reason = reason.strip()
        if len(reason) > 500:
            raise InvalidInputError("reason is at most 500 characters")
        if by_role != "patient" and not reason:
            raise InvalidInputError("a reason is required")
        self._cancelled(by, by_role, reason)

    @event("Cancelled", topic="consulta.Appointment.Cancelled")
    def _cancelled(self, by: UUID, by_role: str, reason: str) -> None:
        self.status = CANCELLED
        self.closed_reason = reason

    def reschedule(
        self,
        by: UUID,
        by_role: str,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        now: datetime,
        cutoff: timedelta | None,
    ) -> None:
        self._require_open()
        if cutoff is not None and now > self.starts_at - cutoff:
            raise CancellationTooLateError("too late to move online: call the practice")
        self._rescheduled(by, by_role, starts_at, ends_at, mode, self.starts_at)

    @event("Rescheduled", topic="consulta.Appointment.Rescheduled")
    def _rescheduled(
        self,
        by: UUID,
        by_role: str,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        previous_starts_at: datetime,
    ) -> None:
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.mode = mode

    def mark_honoured(self, by: UUID, by_role: str, now: datetime) -> None:
        self._require_open()
        if now < self.starts_at:
            raise TooEarlyError("an appointment is honoured once it has started")
        self._honoured(by, by_role)

    @event("Honoured", topic="consulta.Appointment.Honoured")
    def _honoured(self, by: UUID, by_role: str) -> None:
        self.status = HONOURED

    def mark_missed(self, by: UUID, by_role: str, now: datetime) -> None:
        self._require_open()
        if now < self.starts_at:
            raise TooEarlyError("a no-show is recorded once the time has passed")
        self._missed(by, by_role)

    @event("Missed", topic="consulta.Appointment.Missed")
    def _missed(self, by: UUID, by_role: str) -> None:
        self.status = MISSED


class KnownPatient(Aggregate):
    """A profile the practitioner has already seen (one honoured appointment).

    Motifs closed to new patients are bookable online only by known patients.
    The id is derived from (practitioner, profile): recording it twice conflicts.
    """

    TOPIC = "consulta.KnownPatient"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.KnownPatient.Created"

    @staticmethod
    def id_for(practitioner_id: UUID, profile_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/known-patients/{practitioner_id}/{profile_id}")

    @classmethod
    def create_id(cls, practitioner_id: UUID, profile_id: UUID, appointment_id: UUID, by: UUID) -> UUID:
        return cls.id_for(practitioner_id, profile_id)

    @event("Recorded", topic="consulta.KnownPatient.Recorded")
    def __init__(self, practitioner_id: UUID, profile_id: UUID, appointment_id: UUID, by: UUID) -> None:
        self.practitioner_id = practitioner_id
        self.profile_id = profile_id
        self.first_appointment_id = appointment_id
