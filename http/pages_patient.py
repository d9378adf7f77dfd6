"""A patient's appointments: list, confirmation with an .ics file, cancel, reschedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import SlotTakenError, VideoCapReachedError
from consulta.application import Actor
from consulta.http.pages_common import (
    AnyRequest,
    committed,
    login_url,
    now_of,
    page,
    parse_day,
    parse_slot,
    patient_of,
    see_other,
    services_of,
    translate,
)
from consulta.http.pages_ics import appointment_ics
from consulta.http.pages_public import DAYS_PER_PAGE, by_day, card_or_404

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class CancelForm(msgspec.Struct):
    reason: str = ""


class SlotChoice(msgspec.Struct):
    slot: str


def _mine(request: AnyRequest, actor: Actor, appointment_id: UUID) -> dict[str, Any]:
    found = services_of(request).reads.appointment_for_account(actor.account_id, appointment_id)
    if found is None:
        raise NotFoundException("No such appointment.")
    return found


@get("/my/appointments", sync_to_thread=True, name="my_appointments")
def my_appointments(request: AnyRequest, done: FromQuery[str] = "") -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/my/appointments"))
    services = services_of(request)
    now = now_of(request)
    rows = services.reads.appointments_of_account(actor.account_id)
    cutoffs: dict[UUID, timedelta] = {}
    for row in rows:
        if row["practitioner_id"] not in cutoffs:
            card = services.reads.practitioner(row["practitioner_id"])
            minutes = card.rules.policy.cancel_cutoff_minutes if card else 0
            cutoffs[row["practitioner_id"]] = timedelta(minutes=minutes)
        row["changeable"] = (
            row["status"] == "booked" and now <= row["starts_at"] - cutoffs[row["practitioner_id"]]
        )
    upcoming = sorted(
        (r for r in rows if r["status"] == "booked" and r["ends_at"] > now), key=lambda r: r["starts_at"]
    )
    past = [r for r in rows if r not in upcoming]
    return page("my_appointments.html.j2", upcoming=upcoming, past=past, done=done[:20])


@get("/my/appointments/{appointment_id:uuid}/booked", sync_to_thread=True, name="booked")
def booked(request: AnyRequest, appointment_id: FromPath[UUID]) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url(request.url.path))
    return page("booked.html.j2", appointment=_mine(request, actor, appointment_id))


@get("/my/appointments/{appointment_id:uuid}/calendar.ics", sync_to_thread=True, name="booked_ics")
def booked_ics(request: AnyRequest, appointment_id: FromPath[UUID]) -> Response[bytes] | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url(request.url.path))
    appointment = _mine(request, actor, appointment_id)
    summary = translate(request, "Appointment with %(name)s") % {"name": appointment["practitioner_name"]}
    body = appointment_ics(appointment, now_of(request), request.app.state.settings.base_url, summary)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="consulta-appointment.ics"'},
    )


@post("/my/appointments/{appointment_id:uuid}/cancel", sync_to_thread=True, name="my_cancel")
def cancel(
    request: AnyRequest, appointment_id: FromPath[UUID], data: Annotated[CancelForm, Form]
) -> Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/my/appointments"))
    outcome = services_of(request).app.cancel(actor, appointment_id, data.reason[:500], now_of(request))
    return committed(request, outcome, "/my/appointments?done=cancelled")


@get("/my/appointments/{appointment_id:uuid}/reschedule", sync_to_thread=True, name="my_reschedule")
def reschedule_page(
    request: AnyRequest, appointment_id: FromPath[UUID], start: FromQuery[str] = ""
) -> Template | Redirect:
    """Free slots of the same motif, a week at a time."""
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url(request.url.path))
    appointment = _mine(request, actor, appointment_id)
    if appointment["status"] != "booked":
        raise NotFoundException("This appointment can no longer be moved.")
    card = card_or_404(request, appointment["practitioner_id"])
    motif = card.rules.motif(appointment["motif_id"])
    now = now_of(request)
    today = card.rules.local_day(now)
    first = max(parse_day(start, today), today)
    lo, _ = card.rules.day_bounds(first)
    _, hi = card.rules.day_bounds(first + timedelta(days=DAYS_PER_PAGE - 1))
    days = dict(by_day(services_of(request).reads.free_slots(card, motif.id, lo, hi, now), card.timezone))
    week = [
        (first + timedelta(days=i), days.get(first + timedelta(days=i), [])) for i in range(DAYS_PER_PAGE)
    ]
    return page(
        "reschedule.html.j2",
        appointment=appointment,
        card=card,
        motif=motif,
        week=week,
        previous=first - timedelta(days=DAYS_PER_PAGE) if first > today else None,
        following=first + timedelta(days=DAYS_PER_PAGE),
        action=f"/my/appointments/{appointment_id}/new-time",
    )


@post("/my/appointments/{appointment_id:uuid}/new-time", sync_to_thread=True, name="my_reschedule_submit")
def reschedule(
    request: AnyRequest, appointment_id: FromPath[UUID], data: Annotated[SlotChoice, Form]
) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/my/appointments"))
    mode, starts_at = parse_slot(data.slot)
    appointment = _mine(request, actor, appointment_id)
    try:
        outcome = services_of(request).app.reschedule(actor, appointment_id, starts_at, now_of(request), mode)
    except (SlotTakenError, VideoCapReachedError):
        return page("slot_taken.html.j2", 409, practitioner_id=appointment["practitioner_id"])
    return committed(request, outcome, "/my/appointments?done=moved")


HANDLERS = [my_appointments, booked, booked_ics, cancel, reschedule_page, reschedule]
