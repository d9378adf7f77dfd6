"""API appointments: book (idempotent), list mine, cancel, reschedule.

Commands go to the event-sourced application; each waits for the booking
read models to reach its position, so a GET right after shows its effect.
Staff command on their agenda: the practitioner, and a secretary on an agenda
granted to them now (their token names no practitioner: `booking_actor` and
`appointment_actor` find the agenda and check the grant on every request).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, HeaderParameter, JSONBody

from consulta.aggregates.appointment import Appointment
from consulta.aggregates.errors import InvalidInputError, NotFoundError
from consulta.application import Actor, Consulta
from consulta.http.api_limits import limiter_of
from consulta.http.api_schemas import AppointmentList, AppointmentOut, BookingBody, CancelBody, RescheduleBody
from consulta.http.api_support import (
    BEARER,
    BODY_OPTIONAL,
    appointment_actor,
    authenticated,
    booking_actor,
    field_error,
    problems,
    render_appointment,
    require_json,
    services_of,
    within_calendar,
)
from consulta.http.second_factor import note_second_factor, require_second_factor
from consulta.services import BOOKING_VIEWS, Services

KEY_HELP = (
    "Any unique string (1-200 printable ASCII characters), e.g. a UUID. A retry with the same key returns"
    " the first answer and books nothing new; the same key with another body answers 422."
)


class IdempotencyKeyReusedError(InvalidInputError):
    """The key already stands for a booking with other details (422)."""

    code = "idempotency_key_reused"


async def booking_rate(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard (after `authenticated`): booking requests per account each minute (429 beyond)."""
    settings = connection.app.state.settings
    limiter = limiter_of(connection.app, "booking-rate", settings.booking_rate_per_minute)
    now = connection.app.state.services.clock.now()
    wait = await limiter.hit(now, account=str(connection.state.api_actor.account_id))
    if wait is not None:
        raise TooManyRequestsException(
            detail="Too many booking requests: try again later.", headers={"Retry-After": str(wait)}
        )


def idempotent_id(account_id: UUID, key: str) -> UUID:
    """The appointment id a key stands for: the same key of the same account, the same appointment."""
    return uuid5(NAMESPACE_URL, f"/idempotency/{account_id}/{key}")


def _as_first_booked(app: Consulta, appointment_id: UUID) -> Appointment | None:
    """The appointment as it was booked (version 1), whatever happened to it since."""
    try:
        found: object = app.repository.get(appointment_id, version=1)
    except AggregateNotFoundError:
        return None
    if not isinstance(found, Appointment):
        raise IdempotencyKeyReusedError("this Idempotency-Key cannot be used")
    return found


def _render(services: Services, appointment: Appointment) -> AppointmentOut:
    practitioner = services.app.get_practitioner(appointment.practitioner_id)
    rules = practitioner.rules
    motif_name = next((m.name for m in rules.motifs if m.id == appointment.motif_id), None)
    return render_appointment(appointment, rules.policy.timezone, practitioner.name, motif_name)


def _own_profile(app: Consulta, actor: Actor) -> UUID:
    profile_id = app.get_account(actor.account_id).profile_id
    if profile_id is None:
        raise field_error("profile_id", "is required for this account", "body")
    return profile_id


def _named(data: BookingBody) -> tuple[str, date] | None:
    """The patient's last name and birth date, given together or not at all."""
    if (data.patient_last_name is None) != (data.patient_birth_date is None):
        field = "patient_birth_date" if data.patient_birth_date is None else "patient_last_name"
        raise field_error(field, "goes with the other of patient_last_name and patient_birth_date", "body")
    if data.patient_last_name is None or data.patient_birth_date is None:
        return None
    return data.patient_last_name, data.patient_birth_date


def _replay(services: Services, first: Appointment, data: BookingBody, profile_id: UUID) -> AppointmentOut:
    same = (
        first.practitioner_id == data.practitioner_id
        and first.motif_id == data.motif_id
        and first.mode == data.mode
        and first.starts_at == data.starts_at
        and first.profile_id == profile_id
    )
    if not same:
        raise IdempotencyKeyReusedError("this Idempotency-Key was used for another booking")
    return _render(services, first)


@post(
    "/appointments",
    guards=[authenticated, require_json, booking_rate],
    sync_to_thread=True,
    security=BEARER,
    summary="Book a slot",
    description=(
        "Answers 201 with the appointment; a slot taken meanwhile answers 409. Patients book for a profile"
        " they manage (their own by default). Staff (the practitioner, a secretary on an agenda granted to"
        " them now) book on that agenda for a patient of the practice, or for anyone they name with"
        " `patient_last_name` and `patient_birth_date`; an agenda they do not work on answers 404, as for"
        " a practitioner that does not exist."
    ),
    responses=problems(400, 401, 404, 409, 413, 415, 422, 429),
)
def book_appointment(
    request: Request[Any, Any, Any],
    data: JSONBody[BookingBody],
    actor: NamedDependency[Actor],
    idempotency_key: Annotated[
        str | None,
        HeaderParameter(
            name="Idempotency-Key", description=KEY_HELP, schema_extra={"minLength": 1, "maxLength": 200}
        ),
    ] = None,
) -> AppointmentOut:
    services = services_of(request)
    app = services.app
    if idempotency_key is not None and not (
        0 < len(idempotency_key) <= 200 and idempotency_key.isascii() and idempotency_key.isprintable()
    ):
        raise field_error("Idempotency-Key", "must be 1 to 200 printable ASCII characters", "header")
    within_calendar(data.starts_at, "starts_at", "body")
    named = _named(data)
    working = booking_actor(services, actor, data.practitioner_id)  # a secretary: granted now, else 404
    profile_id = data.profile_id or _own_profile(app, working)
    appointment_id = idempotent_id(working.account_id, idempotency_key) if idempotency_key else None
    if appointment_id is not None and (first := _as_first_booked(app, appointment_id)) is not None:
        return _replay(services, first, data, profile_id)
    outcome = app.book(
        working,
        data.practitioner_id,
        data.motif_id,
        data.mode,
        data.starts_at,
        profile_id,
        services.clock.now(),
        appointment_id=appointment_id,
        named=named,
    )
    first = _as_first_booked(app, outcome.id)
    if first is None:  # cannot happen: book() saved it or found it
        raise NotFoundError("appointment not found")
    if not outcome.created:  # a concurrent request with the same key booked it first
        return _replay(services, first, data, profile_id)
    services.wait_for(outcome.position, BOOKING_VIEWS)
    return _render(services, first)


@get(
    "/appointments",
    guards=[authenticated, note_second_factor],
    sync_to_thread=True,
    security=BEARER,
    summary="My appointments",
    description=(
        "Those of every profile the account manages, latest first. The motif is health data: without a"
        " second factor at login, `motif_id` is empty and `motif_name` null."
    ),
    responses=problems(401),
)
def my_appointments(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> AppointmentList:
    rows = services_of(request).reads.appointments_of_account(actor.account_id)
    if not request.state.second_factor:
        rows = [{**r, "motif_id": "", "motif_name": None} for r in rows]
    return AppointmentList(
        items=[render_appointment(r, r["timezone"], r["practitioner_name"], r["motif_name"]) for r in rows]
    )


@get(
    "/appointments/{appointment_id:uuid}",
    guards=[authenticated, require_second_factor],
    sync_to_thread=True,
    security=BEARER,
    summary="One of my appointments",
    description="Health data: the token must come from a login with a second factor (403 otherwise).",
    responses=problems(400, 401, 403, 404),
)
def my_appointment(
    request: Request[Any, Any, Any], appointment_id: FromPath[UUID], actor: NamedDependency[Actor]
) -> AppointmentOut:
    row = services_of(request).reads.appointment_for_account(actor.account_id, appointment_id)
    if row is None:
        raise NotFoundError("appointment not found")
    return render_appointment(row, row["timezone"], row["practitioner_name"], row["motif_name"])


@post(
    "/appointments/{appointment_id:uuid}/cancel",
    guards=[authenticated, require_json],
    opt={BODY_OPTIONAL: True},
    status_code=200,
    sync_to_thread=True,
    security=BEARER,
    summary="Cancel an appointment",
    description=(
        "Patients may cancel until the practitioner's cut-off (422 after it); the body is optional. Staff"
        " (the practitioner, a secretary granted the agenda now) cancel at any time and give a `reason`."
    ),
    responses=problems(400, 401, 404, 409, 413, 415, 422),
)
def cancel_appointment(
    request: Request[Any, Any, Any],
    appointment_id: FromPath[UUID],
    actor: NamedDependency[Actor],
    data: JSONBody[CancelBody | None] = None,
) -> AppointmentOut:
    services = services_of(request)
    reason = data.reason if data else ""
    working = appointment_actor(services, actor, appointment_id)
    outcome = services.app.cancel(working, appointment_id, reason, services.clock.now())
    services.wait_for(outcome.position, BOOKING_VIEWS)
    return _render(services, services.app.get_appointment(working, appointment_id))


@post(
    "/appointments/{appointment_id:uuid}/reschedule",
    guards=[authenticated, require_json, booking_rate],
    status_code=200,
    sync_to_thread=True,
    security=BEARER,
    summary="Move an appointment to another slot",
    description=(
        "Same motif; `mode` defaults to the current one. A slot taken answers 409. Staff (the"
        " practitioner, a secretary granted the agenda now) move their agenda's appointments."
    ),
    responses=problems(400, 401, 404, 409, 413, 415, 422, 429),
)
def reschedule_appointment(
    request: Request[Any, Any, Any],
    appointment_id: FromPath[UUID],
    actor: NamedDependency[Actor],
    data: JSONBody[RescheduleBody],
) -> AppointmentOut:
    services = services_of(request)
    within_calendar(data.starts_at, "starts_at", "body")
    working = appointment_actor(services, actor, appointment_id)
    outcome = services.app.reschedule(
        working, appointment_id, data.starts_at, services.clock.now(), data.mode
    )
    services.wait_for(outcome.position, BOOKING_VIEWS)
    return _render(services, services.app.get_appointment(working, appointment_id))


APPOINTMENT_HANDLERS = [
    book_appointment,
    my_appointments,
    my_appointment,
    cancel_appointment,
    reschedule_appointment,
]
