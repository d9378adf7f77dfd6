"""Domain errors. Each names what was refused; none carries personal data."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a domain rule; nothing was recorded."""

    code = "refused"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.code


class NotFoundError(DomainError):
    code = "not_found"


class InvalidInputError(DomainError):
    code = "invalid"


class SlotTakenError(DomainError):
    """The interval overlaps another appointment, a block or a live hold."""

    code = "slot_taken"


class SlotNotOfferedError(DomainError):
    """Outside opening hours, misaligned, wrong place, reserved for other motifs."""

    code = "slot_not_offered"


class BookingWindowError(DomainError):
    """In the past, inside the minimum notice or beyond the booking horizon."""

    code = "booking_window"


class MotifNotBookableError(DomainError):
    code = "motif_not_bookable"


class VideoCapReachedError(DomainError):
    code = "video_cap_reached"


class AppointmentClosedError(DomainError):
    """The appointment is no longer booked (cancelled, honoured or missed)."""

    code = "appointment_closed"


class CancellationTooLateError(DomainError):
    code = "cancellation_too_late"


class TooEarlyError(DomainError):
    code = "too_early"


class BlockConflictError(DomainError):
    """A block would cover active appointments: they must be cancelled first."""

    code = "block_conflict"

    def __init__(self, appointment_ids: list[str]) -> None:
        super().__init__(f"{len(appointment_ids)} appointment(s) inside the period")
        self.appointment_ids = appointment_ids


class EmailTakenError(DomainError):
    code = "email_taken"


class AuthenticationError(DomainError):
    code = "authentication_failed"


class ForbiddenError(NotFoundError):
    """Refused for lack of rights; shown exactly like a missing object."""


class BusyError(DomainError):
    """Concurrent writers kept winning the race for the same agenda: nothing was recorded, try again."""

    code = "busy"
