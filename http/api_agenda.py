"""API agenda: a practitioner's appointments and blocked periods over a window, for the practice's staff.

Read-only, from the `agenda` read model (the query the /pro/agenda pages use).
It shows patients' names and motifs, so it takes a token from a login with a
second factor, and it is for the agenda's staff only: the practitioner
themself, or a secretary whose grant on that agenda is active now (checked
against its aggregate on every request, as the pages do). Anyone else gets
the answer of a practitioner that does not exist. Each read is one row of the
access log naming every profile shown (http/audit.py, LIST_READS).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from consulta.aggregates.errors import NotFoundError
from consulta.application import Actor
from consulta.http.api_directory import INSTANT_HELP
from consulta.http.api_schemas import AgendaAppointmentOut, AgendaBlockOut, AgendaOut
from consulta.http.api_support import (
    BEARER,
    agenda_actor,
    authenticated,
    field_error,
    parse_instant,
    problems,
    services_of,
)
from consulta.http.audit import note_read
from consulta.http.second_factor import require_second_factor
from consulta.projections.views import PractitionerCard

DEFAULT_AGENDA_DAYS = 1
MAX_AGENDA_DAYS = 31


def _days_after(instant: datetime, zone: ZoneInfo, days: int) -> datetime:
    """The same local time `days` calendar days later in the practitioner's zone (23 or 25 h across a change)."""
    return (instant.astimezone(zone) + timedelta(days=days)).astimezone(UTC)


def window(
    card: PractitionerCard, now: datetime, from_: str | None, to: str | None
) -> tuple[datetime, datetime]:
    """[from, to) in UTC: today in the practitioner's zone by default, at most MAX_AGENDA_DAYS long (422)."""
    zone = ZoneInfo(card.timezone)
    if from_:
        start = parse_instant(from_, "from").astimezone(UTC)
    else:
        start = card.rules.day_bounds(card.rules.local_day(now))[0]
    end = parse_instant(to, "to").astimezone(UTC) if to else _days_after(start, zone, DEFAULT_AGENDA_DAYS)
    if end <= start:
        raise field_error("to", "must come after from")
    if end > _days_after(start, zone, MAX_AGENDA_DAYS):
        raise field_error("to", f"must lie within {MAX_AGENDA_DAYS} days of from")
    return start, end


def _name(row: dict[str, Any]) -> str | None:
    parts = [row.get("first_name") or "", row.get("last_name") or ""]
    return " ".join(p for p in parts if p) or None


@get(
    "/practitioners/{practitioner_id:uuid}/agenda",
    guards=[authenticated, require_second_factor],
    sync_to_thread=True,
    security=BEARER,
    summary="A practitioner's agenda (staff)",
    description=(
        "The appointments and blocked periods in [from, to), for the practitioner and the secretaries"
        " they granted; anyone else gets 404, as for a practitioner that does not exist. `from` defaults"
        f" to the start of today in the practitioner's time zone, `to` to {DEFAULT_AGENDA_DAYS} day after"
        f" `from`; the range spans at most {MAX_AGENDA_DAYS} days. An appointment is listed when it"
        " overlaps the range, whatever its status, as the agenda pages show it: `booked`, `honoured`,"
        " `missed`, or `cancelled` (its time is free again). Blocks are clipped to the range. Times are in"
        " the practitioner's zone (`timezone`). Health data: the token must come from a login with a"
        " second factor (403 otherwise), and each read is recorded in the access log."
    ),
    responses=problems(400, 401, 403, 404, 422),
)
def practitioner_agenda(
    request: Request[Any, Any, Any],
    practitioner_id: FromPath[UUID],
    actor: NamedDependency[Actor],
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64, description=INSTANT_HELP)] = None,
    to: Annotated[str | None, QueryParameter(max_length=64, description=INSTANT_HELP)] = None,
) -> AgendaOut:
    services = services_of(request)
    working = agenda_actor(services, actor, practitioner_id)  # before anything about the agenda is read
    card = services.reads.practitioner(practitioner_id)
    if card is None:
        raise NotFoundError("practitioner not found")
    start, end = window(card, services.clock.now(), from_, to)
    request.state.api_actor = working  # the access log names the agenda a secretary read
    agenda = services.reads.agenda(practitioner_id, start, end)
    zone = ZoneInfo(card.timezone)
    appointments = []
    for a in agenda["appointments"]:
        note_read(request, "appointment", a["id"], a["profile_id"])  # one access-log row names them all
        appointments.append(
            AgendaAppointmentOut(
                id=a["id"],
                status=a["status"],
                starts_at=a["starts_at"].astimezone(zone),
                ends_at=a["ends_at"].astimezone(zone),
                mode=a["mode"],
                motif_id=a["motif_id"],
                motif_name=a["motif_name"],
                profile_id=a["profile_id"],
                patient_name=_name(a),
            )
        )
    blocks = [
        AgendaBlockOut(
            id=b["block_id"],
            starts_at=max(b["starts_at"], start).astimezone(zone),
            ends_at=min(b["ends_at"], end).astimezone(zone),
        )
        for b in agenda["blocks"]
    ]
    return AgendaOut(
        practitioner_id=practitioner_id,
        timezone=card.timezone,
        starts_at=start.astimezone(zone),
        ends_at=end.astimezone(zone),
        appointments=appointments,
        blocks=blocks,
    )


AGENDA_HANDLERS = [practitioner_agenda]
