"""The shapes of the JSON API (`/api/v1`): what outside clients code against.

Field names here are a contract: add fields freely, rename none. Every
instant carries its UTC offset, rendered in the practitioner's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Mode = Literal["practice", "video"]
# A datetime without an offset is refused: "10:00" means nothing without a zone.
Instant = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with its UTC offset")]
Text100 = Annotated[str, msgspec.Meta(max_length=100)]


class FieldProblem(msgspec.Struct, kw_only=True):
    name: str
    reason: str


class Problem(msgspec.Struct, kw_only=True):
    """An error answer (RFC 9457, `application/problem+json`); `errors` names invalid fields."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[FieldProblem] | None = None


# -- accounts ----------------------------------------------------------------


class RegisterBody(msgspec.Struct, kw_only=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=256)]
    first_name: Text100
    last_name: Text100
    birth_date: date


class Registered(msgspec.Struct, kw_only=True):
    id: UUID
    profile_id: UUID | None


class LoginBody(msgspec.Struct, kw_only=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=256)]
    code: Annotated[str, msgspec.Meta(max_length=12)] = (
        ""  # authenticator code: staff always, patients who set one up
    )


class Token(msgspec.Struct, kw_only=True):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int


# -- directory and slots -----------------------------------------------------


class MotifOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    duration_minutes: int
    modes: list[Mode]
    online: bool = True
    new_patients: bool = True


class PractitionerOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    specialty: str
    city: str
    video: bool
    motifs: list[MotifOut]
    address: str = ""
    timezone: str = "Europe/Paris"


class PractitionerList(msgspec.Struct, kw_only=True):
    items: list[PractitionerOut]


class SlotOut(msgspec.Struct, kw_only=True):
    starts_at: datetime
    ends_at: datetime
    motif_id: str
    mode: Mode


class SlotMotifOut(msgspec.Struct, kw_only=True):
    """One motif the slot listing covered, and whether its slots were listed for this caller.

    A motif `restricted_to_known_patients` is bookable online only for a profile
    the practitioner has already seen (one honoured appointment). Its slots are
    listed only to a caller who may book it (`slots_listed`): a patient's token
    with such a profile (`bookable_for` lists them: own and family), or the
    practitioner's own token. Anyone else gets no slots: call the practice.
    """

    id: str
    restricted_to_known_patients: bool = False
    slots_listed: bool = True
    bookable_for: list[UUID] = msgspec.field(default_factory=list)


class SlotList(msgspec.Struct, kw_only=True):
    slots: list[SlotOut]
    timezone: str
    starts_at: datetime
    ends_at: datetime
    motifs: list[SlotMotifOut] = msgspec.field(default_factory=list)


# -- appointments ------------------------------------------------------------


class BookingBody(msgspec.Struct, kw_only=True):
    practitioner_id: UUID
    motif_id: Annotated[str, msgspec.Meta(max_length=100)]
    starts_at: Instant
    mode: Mode
    profile_id: UUID | None = None
    # Staff booking a patient new to the practice: the patient's last name and birth date, both.
    patient_last_name: Text100 | None = None
    patient_birth_date: date | None = None


class CancelBody(msgspec.Struct, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class RescheduleBody(msgspec.Struct, kw_only=True):
    starts_at: Instant
    mode: Mode | None = None


class AppointmentOut(msgspec.Struct, kw_only=True):
    id: UUID
    status: str
    practitioner_id: UUID
    motif_id: str
    starts_at: datetime
    ends_at: datetime
    mode: Mode
    profile_id: UUID
    timezone: str
    practitioner_name: str | None = None
    motif_name: str | None = None


class AppointmentList(msgspec.Struct, kw_only=True):
    items: list[AppointmentOut]


# -- the practice's agenda (staff) ---------------------------------------------


class AgendaAppointmentOut(msgspec.Struct, kw_only=True):
    """One appointment of the agenda, as the practitioner's day view shows it (cancelled ones included)."""

    id: UUID
    status: str  # booked, cancelled, honoured or missed
    starts_at: datetime
    ends_at: datetime
    mode: Mode
    motif_id: str
    motif_name: str | None  # null for a motif the practitioner has since removed
    profile_id: UUID
    patient_name: str | None  # the profile's first and last name


class AgendaBlockOut(msgspec.Struct, kw_only=True):
    """A blocked period, clipped to the window asked for (`id` is the same in every window it touches)."""

    id: UUID
    starts_at: datetime
    ends_at: datetime


class AgendaOut(msgspec.Struct, kw_only=True):
    practitioner_id: UUID
    timezone: str
    starts_at: datetime
    ends_at: datetime
    appointments: list[AgendaAppointmentOut]
    blocks: list[AgendaBlockOut]
