"""Booking by a patient: choose a slot, hold it while confirming, confirm.

The hold lives in the agenda (others stop seeing the slot) and its id in
the session; `settings.hold_minutes` later it frees itself. Holding and
confirming need a logged-in patient: a visitor is sent to log in and comes
back to the slot they chose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import MotifNotBookableError, SlotTakenError, VideoCapReachedError
from consulta.http.auth import page_actor
from consulta.http.known_patients import KnownProfiles, restricted
from consulta.http.pages_common import (
    SESSION_HOLD,
    AnyRequest,
    committed,
    login_url,
    now_of,
    page,
    parse_slot,
    parse_uuid,
    patient_of,
    see_other,
    services_of,
    session_value,
    slot_value,
    translate,
    update_session,
)
from consulta.http.pages_public import card_or_404
from consulta.projections.views import PractitionerCard

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class SlotForm(msgspec.Struct):
    practitioner_id: str
    motif_id: str
    slot: str


class ConfirmForm(msgspec.Struct):
    profile_id: str


def _taken(request: AnyRequest, practitioner_id: UUID) -> Template:
    return page("slot_taken.html.j2", 409, practitioner_id=practitioner_id)


def _known_only(card: PractitionerCard, motif: Any) -> Template:
    """A motif closed to new patients, and none of the patient's profiles is known: nothing is held."""
    return page("known_only.html.j2", 403, card=card, motif=motif)


@get("/book/choose", sync_to_thread=True, name="book_choose")
def choose(
    request: AnyRequest, practitioner_id: FromQuery[str], motif_id: FromQuery[str], slot: FromQuery[str]
) -> Template | Redirect:
    """The slot a visitor picked, shown again after logging in, with the button that holds it."""
    card = card_or_404(request, parse_uuid(practitioner_id, "practitioner"))
    motif = card.rules.motif(motif_id)
    mode, starts_at = parse_slot(slot)
    actor = page_actor(request)
    if actor is None:
        return see_other(login_url(request.url.path + "?" + request.url.query))
    if actor.role != "patient":
        raise PermissionDeniedException("Staff book for a patient from the agenda.")
    if KnownProfiles(services_of(request), actor, card.id).locked(motif):
        return _known_only(card, motif)
    return page("choose.html.j2", card=card, motif=motif, mode=mode, starts_at=starts_at, slot=slot)


@post("/book/hold", sync_to_thread=True, name="book_hold")
def hold(request: AnyRequest, data: Annotated[SlotForm, Form]) -> Template | Redirect:
    practitioner_id = parse_uuid(data.practitioner_id, "practitioner")
    mode, starts_at = parse_slot(data.slot)
    card = card_or_404(request, practitioner_id)
    motif = card.rules.motif(data.motif_id)  # unknown motif: 404 before anything is recorded
    actor = page_actor(request)
    if actor is None:
        query = urlencode({"practitioner_id": practitioner_id, "motif_id": data.motif_id, "slot": data.slot})
        return see_other(login_url(f"/book/choose?{query}"))
    if actor.role != "patient":
        raise PermissionDeniedException("Staff book for a patient from the agenda.")
    services = services_of(request)
    if KnownProfiles(services, actor, card.id).locked(motif):
        return _known_only(card, motif)
    previous = session_value(request, SESSION_HOLD) or {}
    replaces = UUID(previous["id"]) if previous.get("practitioner_id") == str(practitioner_id) else None
    now = now_of(request)
    try:
        outcome = services.app.hold_slot(
            actor,
            practitioner_id,
            data.motif_id,
            mode,
            starts_at,
            now,
            services.settings.hold_minutes,
            replaces,
        )
    except SlotTakenError:
        return _taken(request, practitioner_id)
    update_session(
        request,
        **{
            SESSION_HOLD: {
                "id": str(outcome.id),
                "practitioner_id": str(practitioner_id),
                "motif_id": data.motif_id,
                "slot": slot_value(mode, starts_at),
                "until": (now.timestamp() + services.settings.hold_minutes * 60),
            }
        },
    )
    return committed(request, outcome, "/book/confirm")


def _held(request: AnyRequest) -> dict[str, Any] | None:
    held = session_value(request, SESSION_HOLD)
    return held if isinstance(held, dict) and "id" in held else None


@get("/book/confirm", sync_to_thread=True, name="book_confirm")
def confirm_page(request: AnyRequest) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/book/confirm"))
    held = _held(request)
    if held is None:
        return page("no_hold.html.j2", 404)
    return _confirm_form(request, actor, held)


def _confirm_form(request: AnyRequest, actor: Any, held: dict[str, Any], error: str = "") -> Template:
    """Who the held time is for: for a motif closed to new patients, only the profiles the practitioner knows."""
    card = card_or_404(request, UUID(held["practitioner_id"]))
    motif = card.rules.motif(held["motif_id"])
    mode, starts_at = parse_slot(held["slot"])
    until = datetime.fromtimestamp(held["until"], tz=UTC)
    expired = until <= now_of(request)
    services = services_of(request)
    if restricted(motif):
        profiles = KnownProfiles(services, actor, card.id).profiles
        if not profiles:
            return _known_only(card, motif)
    else:
        profiles = services.reads.profiles_of_account(actor.account_id)
    return page(
        "confirm.html.j2",
        422 if error else 200,
        card=card,
        motif=motif,
        mode=mode,
        starts_at=starts_at,
        until=until,
        expired=expired,
        profiles=profiles,
        restricted=restricted(motif),
        error=error,
    )


NOT_KNOWN = (
    "This reason is reserved for patients already followed by this practitioner, and this person has not"
    " been seen by them yet: choose someone from the list, or call the practice. Nothing was booked."
)


@post("/book/confirmation", sync_to_thread=True, name="book_confirm_submit")
def confirm(request: AnyRequest, data: Annotated[ConfirmForm, Form]) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/book/confirm"))
    held = _held(request)
    if held is None:
        return page("no_hold.html.j2", 409)
    profile_id = parse_uuid(data.profile_id, "profile")
    practitioner_id = UUID(held["practitioner_id"])
    mode, starts_at = parse_slot(held["slot"])
    motif = card_or_404(request, practitioner_id).rules.motif(held["motif_id"])
    if not KnownProfiles(services_of(request), actor, practitioner_id).may_book_for(motif, profile_id):
        # Checked here for a clear page (the booking command refuses it anyway); the hold is kept.
        return _confirm_form(request, actor, held, translate(request, NOT_KNOWN))
    try:
        outcome = services_of(request).app.book(
            actor,
            practitioner_id,
            held["motif_id"],
            mode,
            starts_at,
            profile_id,
            now_of(request),
            hold_id=UUID(held["id"]),
        )
    except (SlotTakenError, VideoCapReachedError):
        update_session(request, **{SESSION_HOLD: None})
        return _taken(request, practitioner_id)
    except MotifNotBookableError:
        if not restricted(motif):
            raise
        return _confirm_form(request, actor, held, translate(request, NOT_KNOWN))  # known no more
    update_session(request, **{SESSION_HOLD: None})
    return committed(request, outcome, f"/my/appointments/{outcome.id}/booked")


HANDLERS = [choose, hold, confirm_page, confirm]
