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


class SlotList(msgspec.Struct, kw_only=True):
    slots: list[SlotOut]
    timezone: str
    starts_at: datetime
    ends_at: datetime


# -- appointments ------------------------------------------------------------


class BookingBody(msgspec.Struct, kw_only=True):
    practitioner_id: UUID
    motif_id: Annotated[str, msgspec.Meta(max_length=100)]
    starts_at: Instant
    mode: Mode
    profile_id: UUID | None = None


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
