"""What every API handler shares: the JSON guard, field errors, time parsing, rendering, who acts on an agenda."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from consulta.aggregates.errors import NotFoundError
from consulta.application import Actor
from consulta.http.api_schemas import AppointmentOut, MotifOut, PractitionerOut, Problem
from consulta.http.auth import api_actor
from consulta.http.errors import TITLES
from consulta.projections.account_views import AccountReads
from consulta.services import Services

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]  # the OpenAPI security of handlers that need a token
JSON_TYPES = ("application/json",)
BODY_OPTIONAL = "body_optional"  # handler opt: an empty body without a content type is fine


def services_of(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def authenticated(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a valid bearer token (401 otherwise), checked before the body is read."""
    connection.state.api_actor = await api_actor(connection)  # type: ignore[arg-type]


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The `actor` dependency of handlers behind the `authenticated` guard."""
    return request.state.api_actor  # type: ignore[no-any-return]


def agenda_actor(services: Services, actor: Actor, practitioner_id: UUID) -> Actor:
    """Who works on this agenda: the practitioner, or a secretary granted it now (404 for anyone else).

    A secretary's token names no practitioner (they work for several, who each
    grant and revoke access): the grant is checked against its aggregate on
    every request, so a revoked one refuses at once. The 404 is the answer for
    a practitioner that does not exist, before anything about the agenda is read.
    """
    working: Actor | None = None
    if actor.role == "practitioner":
        working = actor
    elif actor.role == "secretary" and services.app.is_granted(actor.account_id, practitioner_id):
        working = Actor(actor.account_id, "secretary", practitioner_id)
    if working is None or not working.may_manage_agenda(practitioner_id):
        raise NotFoundError("practitioner not found")
    return working


def booking_actor(services: Services, actor: Actor, practitioner_id: UUID) -> Actor:
    """The actor of a booking on this agenda: a secretary works on it if granted now; others as they are.

    Patients and practitioners go on unchanged: the booking command checks them
    (a practitioner on another agenda gets the same 404 "practitioner not found").
    """
    return agenda_actor(services, actor, practitioner_id) if actor.role == "secretary" else actor


def appointment_actor(services: Services, actor: Actor, appointment_id: UUID) -> Actor:
    """The actor of a command on this appointment: a secretary on its agenda if granted now.

    The agenda comes from the read model (the command waited for it after
    booking). A secretary not granted on it, or an id that exists nowhere, gets
    the 404 of a missing appointment, the same as another account's one.
    Patients and practitioners go on unchanged: the command checks them.
    """
    if actor.role != "secretary":
        return actor
    practitioner_id = AccountReads(services.reads).practitioner_of_appointment(appointment_id)
    if practitioner_id is None or not services.app.is_granted(actor.account_id, practitioner_id):
        raise NotFoundError("appointment not found")
    return Actor(actor.account_id, "secretary", practitioner_id)


def require_json(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: a request body must be `application/json` (415 otherwise), checked before it is read."""
    headers = connection.headers
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type in JSON_TYPES or (media_type.startswith("application/") and media_type.endswith("+json")):
        return
    empty = headers.get("content-length", "0").strip() == "0" and "transfer-encoding" not in headers
    if empty and handler.opt.get(BODY_OPTIONAL) and not media_type:
        return
    raise HTTPException(status_code=415, detail="Send the request body as application/json.")


def field_error(field: str, reason: str, source: str = "query") -> ValidationException:
    """A 422 naming the field and the rule, never the value."""
    return ValidationException(
        detail=f"{field} {reason}", extra=[{"key": field, "message": reason, "source": source}]
    )


_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")


def parse_instant(value: str, field: str) -> datetime:
    """An ISO 8601 instant from a query string; a `+` sent unencoded arrives as a space."""
    text = _SPACED_OFFSET.sub(r"+\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise field_error(field, "must be an ISO 8601 date-time with its UTC offset") from None
    if parsed.tzinfo is None:
        raise field_error(field, "must carry its UTC offset, for example +02:00 or Z")
    return within_calendar(parsed, field)


def within_calendar(instant: datetime, field: str, source: str = "query") -> datetime:
    """Refuse instants far from any agenda (years before 2000 or from 2200): they overflow date arithmetic."""
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not 2000 <= utc.year < 2200:
        raise field_error(field, "lies outside the years 2000 to 2199", source)
    return instant


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error answers a handler may give."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=TITLES.get(status, "Error"),
            media_type="application/problem+json",
            generate_examples=False,
        )
        for status in statuses
    }


def _getter(source: Any) -> Callable[[str], Any]:
    if isinstance(source, dict):
        return source.__getitem__
    return lambda key: getattr(source, key)


def render_motif(motif: dict[str, Any]) -> MotifOut:
    return MotifOut(
        id=motif["id"],
        name=motif["name"],
        duration_minutes=motif["duration_minutes"],
        modes=list(motif["modes"]),
        online=bool(motif.get("online", True)),
        new_patients=bool(motif.get("new_patients", True)),
    )


def render_practitioner(row: Any) -> PractitionerOut:
    """From a directory row (dict) or a `PractitionerCard`; motifs closed to online booking are left out."""
    get = _getter(row)
    return PractitionerOut(
        id=get("id"),
        name=get("name"),
        specialty=get("specialty"),
        city=get("city"),
        video=bool(get("video")),
        motifs=[render_motif(m) for m in get("motifs") if m.get("online", True)],
        address=get("address") or "",
        timezone=get("timezone"),
    )


def render_appointment(
    source: Any, timezone: str, practitioner_name: str | None = None, motif_name: str | None = None
) -> AppointmentOut:
    """From an `Appointment` aggregate or a read-model row (dict), times in the practitioner's zone."""
    get = _getter(source)
    zone = ZoneInfo(timezone)
    return AppointmentOut(
        id=get("id"),
        status=get("status"),
        practitioner_id=get("practitioner_id"),
        motif_id=get("motif_id"),
        starts_at=get("starts_at").astimezone(zone),
        ends_at=get("ends_at").astimezone(zone),
        mode=get("mode"),
        profile_id=get("profile_id"),
        timezone=timezone,
        practitioner_name=practitioner_name,
        motif_name=motif_name,
    )
