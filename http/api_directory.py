"""API directory: find practitioners, read one, list their free slots (read models only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter

from consulta.aggregates.errors import NotFoundError
from consulta.application import Actor
from consulta.http.api_schemas import (
    Mode,
    PractitionerList,
    PractitionerOut,
    SlotList,
    SlotMotifOut,
    SlotOut,
)
from consulta.http.api_support import field_error, parse_instant, problems, render_practitioner, services_of
from consulta.http.auth import api_actor
from consulta.http.known_patients import KnownProfiles, restricted
from consulta.projections.views import PractitionerCard

DEFAULT_SLOT_DAYS = 7
MAX_SLOT_DAYS = 62
INSTANT_HELP = "ISO 8601 with its UTC offset (encode `+` as `%2B` in a URL)"


def _card(request: Request[Any, Any, Any], practitioner_id: UUID) -> PractitionerCard:
    card = services_of(request).reads.practitioner(practitioner_id)
    if card is None:
        raise NotFoundError("practitioner not found")
    return card


@get(
    "/practitioners",
    sync_to_thread=True,
    summary="Find practitioners",
    description="By words in the name, specialty or city (`q`), exact specialty and city, and video.",
    responses=problems(400, 422),
)
def list_practitioners(
    request: Request[Any, Any, Any],
    q: Annotated[
        str, QueryParameter(max_length=100, description="Words in the name, specialty or city")
    ] = "",
    specialty: Annotated[str, QueryParameter(max_length=100)] = "",
    city: Annotated[str, QueryParameter(max_length=100)] = "",
    video: Annotated[
        Literal["true", "false", "1", "0", ""] | None,
        QueryParameter(description="true: only those who consult by video; false: only those who do not"),
    ] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
) -> PractitionerList:
    wants_video = None if not video else video in ("true", "1")
    rows = services_of(request).reads.search_practitioners(
        q.strip(), specialty.strip(), city.strip(), wants_video, limit
    )
    return PractitionerList(items=[render_practitioner(row) for row in rows])


@get(
    "/practitioners/{practitioner_id:uuid}",
    sync_to_thread=True,
    summary="One practitioner, with the motifs bookable online",
    responses=problems(400, 404),
)
def show_practitioner(request: Request[Any, Any, Any], practitioner_id: FromPath[UUID]) -> PractitionerOut:
    return render_practitioner(_card(request, practitioner_id))


async def optional_caller(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: the caller of a public endpoint, if a bearer token is sent (401 if it is not valid)."""
    sent = "authorization" in connection.headers
    connection.state.api_actor = await api_actor(connection) if sent else None  # type: ignore[arg-type]


@get(
    "/practitioners/{practitioner_id:uuid}/slots",
    sync_to_thread=True,
    guards=[optional_caller],
    summary="Free slots",
    description=(
        f"Slots bookable now in [from, to): from defaults to now, to to {DEFAULT_SLOT_DAYS} days after from;"
        f" the range spans at most {MAX_SLOT_DAYS} days. Without `motif`, every motif bookable online."
        " A motif reserved to the practitioner's known patients (`motifs[].restricted_to_known_patients`)"
        " lists its slots only to a bearer token that may book it: a patient one of whose profiles the"
        " practitioner has seen (`bookable_for`), the practitioner, or a secretary granted the agenda now;"
        " others get none (`slots_listed`"
        " false: call the practice). An invalid bearer token answers 401."
    ),
    responses=problems(400, 401, 404, 422),
)
def practitioner_slots(
    request: Request[Any, Any, Any],
    practitioner_id: FromPath[UUID],
    motif: Annotated[str | None, QueryParameter(max_length=100, description="A motif id")] = None,
    from_: Annotated[str | None, QueryParameter(name="from", max_length=64, description=INSTANT_HELP)] = None,
    to: Annotated[str | None, QueryParameter(max_length=64, description=INSTANT_HELP)] = None,
    mode: Annotated[
        Mode | Literal[""] | None, QueryParameter(description="At the practice or by video")
    ] = None,
) -> SlotList:
    services = services_of(request)
    now = services.clock.now()
    card = _card(request, practitioner_id)
    start = parse_instant(from_, "from") if from_ else now
    end = parse_instant(to, "to") if to else start + timedelta(days=DEFAULT_SLOT_DAYS)
    if end <= start:
        raise field_error("to", "must come after from")
    if end - start > timedelta(days=MAX_SLOT_DAYS):
        raise field_error("to", f"must lie within {MAX_SLOT_DAYS} days of from")
    if motif:
        card.rules.motif(motif)  # an unknown motif answers 404
        motif_ids = [motif]
    else:
        motif_ids = [m["id"] for m in card.motifs if m.get("online", True)]
    caller = request.state.api_actor
    if (
        caller is not None
        and caller.role == "secretary"
        and services.app.is_granted(caller.account_id, card.id)
    ):
        caller = Actor(
            caller.account_id, "secretary", card.id
        )  # their token names no agenda: granted on this one
    known = KnownProfiles(
        services,
        caller,
        card.id,
        staff_may_book=caller is not None and caller.role in ("practitioner", "secretary"),
    )
    covered = [_motif_out(known, card.rules.motif(motif_id)) for motif_id in motif_ids]
    slots = [
        slot
        for motif in covered
        if motif.slots_listed
        for slot in services.reads.free_slots(card, motif.id, start, end, now, mode=mode or None)
    ]
    slots.sort(key=lambda s: (s.starts_at, s.motif_id, s.mode))
    zone = ZoneInfo(card.timezone)
    return SlotList(
        slots=[
            SlotOut(
                starts_at=s.starts_at.astimezone(zone),
                ends_at=s.ends_at.astimezone(zone),
                motif_id=s.motif_id,
                mode=s.mode,  # type: ignore[arg-type]
            )
            for s in slots
        ],
        timezone=card.timezone,
        starts_at=start.astimezone(zone),
        ends_at=end.astimezone(zone),
        motifs=covered,
    )


def _motif_out(known: KnownProfiles, motif: Any) -> SlotMotifOut:
    if not restricted(motif):
        return SlotMotifOut(id=motif.id)
    return SlotMotifOut(
        id=motif.id,
        restricted_to_known_patients=True,
        slots_listed=not known.locked(motif),
        bookable_for=[p["id"] for p in known.profiles],
    )


DIRECTORY_HANDLERS = [list_practitioners, show_practitioner, practitioner_slots]
