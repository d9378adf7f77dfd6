"""The practitioner's agenda: day and week views, one appointment and what can be done to it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from markupsafe import Markup

from consulta.aggregates.errors import SlotTakenError, VideoCapReachedError
from consulta.application import Actor
from consulta.http import i18n
from consulta.http.audit import note_read
from consulta.http.pages_common import (
    CSRF_MARK,
    AnyRequest,
    cached_reads,
    committed,
    csrf_input,
    now_of,
    page,
    parse_day,
    parse_slot,
    safe_next,
    services_of,
    staff_of,
    template_engine,
)
from consulta.http.pages_public import DAYS_PER_PAGE, by_day
from consulta.http.second_factor import STAFF, require_second_factor
from consulta.projections.views import PractitionerCard

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class ReasonForm(msgspec.Struct):
    reason: str
    next: str = ""


class SlotChoice(msgspec.Struct):
    slot: str


def own_card(request: AnyRequest, actor: Actor) -> PractitionerCard:
    card = cached_reads(request).practitioner(actor.practitioner_id)  # type: ignore[arg-type]
    if card is None:
        raise NotFoundException("page not found")
    return card


def pick_motif(card: PractitionerCard, motif: str) -> str | None:
    ids = [m.id for m in card.rules.motifs]
    if motif and motif not in ids:
        raise NotFoundException("No such motif.")
    return motif or (ids[0] if ids else None)


def timelines(
    request: AnyRequest, card: PractitionerCard, first: date, count: int, motif: str | None
) -> list[tuple[date, list[dict[str, Any]]]]:
    """Appointments, blocks and free slots of `count` local days, each day in time order (3-4 queries)."""
    reads = cached_reads(request)
    days = [first + timedelta(days=i) for i in range(count)]
    bounds = {day: card.rules.day_bounds(day) for day in days}
    lo, hi = bounds[days[0]][0], bounds[days[-1]][1]
    agenda = reads.agenda(card.id, lo, hi)
    found: dict[date, list[dict[str, Any]]] = {day: [] for day in days}

    def put(instant: datetime, item: dict[str, Any]) -> None:
        day = card.rules.local_day(instant)
        if day in found:
            found[day].append(item)

    for a in agenda["appointments"]:
        put(a["starts_at"], {"kind": "appointment", "at": a["starts_at"], **a})
        note_read(request, "appointment", a["id"], a["profile_id"])  # the access log names each patient shown
    for b in agenda["blocks"]:
        for day, (day_lo, day_hi) in bounds.items():
            if b["starts_at"] < day_hi and b["ends_at"] > day_lo:
                found[day].append({"kind": "block", "at": max(b["starts_at"], day_lo), **b})
    if motif:
        for slot in reads.free_slots(card, motif, lo, hi, now_of(request), staff=True, limit=5000):
            put(slot.starts_at, {"kind": "free", "at": slot.starts_at, "slot": slot})
    order = {"block": 0, "appointment": 1, "free": 2}
    return [(day, sorted(found[day], key=lambda i: (i["at"], order[i["kind"]]))) for day in days]


def day_fragments(
    request: AnyRequest,
    card: PractitionerCard,
    days: list[tuple[date, list[dict[str, Any]]]],
    motif: str | None,
    positions: tuple[int, ...] | None,
) -> list[tuple[date, Markup]]:
    """Each day's list rendered once per (read-model positions, free slots, language): most of a week's cost.

    `positions` must be taken before anything of the page was read, so that a fragment never holds
    data older than its key (the rule of consulta.projections.cached).
    """
    cache = cached_reads(request)
    template = template_engine(request).get_template("pages/_agenda_items.html.j2")
    language = i18n.request_language(request)
    out = []
    for day, items in days:
        free = tuple((i["slot"].starts_at.timestamp(), i["slot"].mode) for i in items if i["kind"] == "free")
        # The view's first day and length: a block's shown extent is clipped to the range read.
        key = ("day-html", card.id, days[0][0], len(days), day, motif, language, free)

        def render(items: list[dict[str, Any]] = items) -> str:
            return template.render(items=items, card=card, request=request, csrf_input=CSRF_MARK)

        html = render() if positions is None else cache.remember(key, positions, render)
        out.append((day, Markup(html.replace(CSRF_MARK, str(csrf_input(request))))))  # noqa: S704  # rendered by our template
    return out


@get("/pro/agenda", sync_to_thread=True, name="pro_day", guards=[require_second_factor], opt=STAFF)
def day_view(request: AnyRequest, day: FromQuery[str] = "", motif: FromQuery[str] = "") -> Template:
    positions = cached_reads(request).page_positions()  # before anything is read
    actor = staff_of(request)
    card = own_card(request, actor)
    chosen = parse_day(day, card.rules.local_day(now_of(request)))
    motif_id = pick_motif(card, motif)
    return page(
        "pro_day.html.j2",
        card=card,
        day=chosen,
        motif_id=motif_id,
        items_html=day_fragments(
            request, card, timelines(request, card, chosen, 1, motif_id), motif_id, positions
        )[0][1],
        previous=chosen - timedelta(days=1),
        following=chosen + timedelta(days=1),
    )


@get("/pro/agenda/week", sync_to_thread=True, name="pro_week", guards=[require_second_factor], opt=STAFF)
def week_view(request: AnyRequest, start: FromQuery[str] = "", motif: FromQuery[str] = "") -> Template:
    positions = cached_reads(request).page_positions()  # before anything is read
    actor = staff_of(request)
    card = own_card(request, actor)
    today = card.rules.local_day(now_of(request))
    first = parse_day(start, today - timedelta(days=today.weekday()))
    motif_id = pick_motif(card, motif)
    return page(
        "pro_week.html.j2",
        card=card,
        start=first,
        motif_id=motif_id,
        days=day_fragments(request, card, timelines(request, card, first, 7, motif_id), motif_id, positions),
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
    )


def own_appointment(request: AnyRequest, actor: Actor, appointment_id: UUID) -> dict[str, Any]:
    found = services_of(request).reads.agenda_appointment(actor.practitioner_id, appointment_id)  # type: ignore[arg-type]
    if found is None:
        raise NotFoundException("No such appointment.")
    return found


def day_url(card: PractitionerCard, instant: datetime) -> str:
    return f"/pro/agenda?day={card.rules.local_day(instant).isoformat()}"


@get(
    "/pro/appointments/{appointment_id:uuid}",
    sync_to_thread=True,
    name="pro_appointment",
    guards=[require_second_factor],
    opt=STAFF,
)
def appointment_page(request: AnyRequest, appointment_id: FromPath[UUID]) -> Template:
    actor = staff_of(request)
    card = own_card(request, actor)
    appointment = own_appointment(request, actor, appointment_id)
    started = appointment["starts_at"] <= now_of(request)
    return page("pro_appointment.html.j2", card=card, appointment=appointment, started=started)


@post("/pro/appointments/{appointment_id:uuid}/cancel", sync_to_thread=True, name="pro_cancel")
def cancel(
    request: AnyRequest, appointment_id: FromPath[UUID], data: Annotated[ReasonForm, Form]
) -> Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    appointment = own_appointment(request, actor, appointment_id)
    outcome = services_of(request).app.cancel(actor, appointment_id, data.reason[:500], now_of(request))
    return committed(request, outcome, safe_next(data.next, day_url(card, appointment["starts_at"])))


@post("/pro/appointments/{appointment_id:uuid}/honoured", sync_to_thread=True, name="pro_honoured")
def honoured(request: AnyRequest, appointment_id: FromPath[UUID]) -> Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    appointment = own_appointment(request, actor, appointment_id)
    outcome = services_of(request).app.mark_honoured(actor, appointment_id, now_of(request))
    return committed(request, outcome, day_url(card, appointment["starts_at"]))


@post("/pro/appointments/{appointment_id:uuid}/missed", sync_to_thread=True, name="pro_missed")
def missed(request: AnyRequest, appointment_id: FromPath[UUID]) -> Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    appointment = own_appointment(request, actor, appointment_id)
    outcome = services_of(request).app.mark_missed(actor, appointment_id, now_of(request))
    return committed(request, outcome, day_url(card, appointment["starts_at"]))


@get("/pro/appointments/{appointment_id:uuid}/move", sync_to_thread=True, name="pro_move")
def move_page(request: AnyRequest, appointment_id: FromPath[UUID], start: FromQuery[str] = "") -> Template:
    actor = staff_of(request)
    card = own_card(request, actor)
    appointment = own_appointment(request, actor, appointment_id)
    if appointment["status"] != "booked":
        raise NotFoundException("This appointment can no longer be moved.")
    now = now_of(request)
    today = card.rules.local_day(now)
    first = max(parse_day(start, today), today)
    lo, _ = card.rules.day_bounds(first)
    _, hi = card.rules.day_bounds(first + timedelta(days=DAYS_PER_PAGE - 1))
    slots = services_of(request).reads.free_slots(card, appointment["motif_id"], lo, hi, now, staff=True)
    found = dict(by_day(slots, card.timezone))
    week = [
        (first + timedelta(days=i), found.get(first + timedelta(days=i), [])) for i in range(DAYS_PER_PAGE)
    ]
    return page(
        "reschedule.html.j2",
        appointment=appointment,
        card=card,
        motif=card.rules.motif(appointment["motif_id"]),
        week=week,
        previous=first - timedelta(days=DAYS_PER_PAGE) if first > today else None,
        following=first + timedelta(days=DAYS_PER_PAGE),
        action=f"/pro/appointments/{appointment_id}/new-time",
    )


@post("/pro/appointments/{appointment_id:uuid}/new-time", sync_to_thread=True, name="pro_move_submit")
def move(
    request: AnyRequest, appointment_id: FromPath[UUID], data: Annotated[SlotChoice, Form]
) -> Template | Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    mode, starts_at = parse_slot(data.slot)
    own_appointment(request, actor, appointment_id)
    try:
        outcome = services_of(request).app.reschedule(actor, appointment_id, starts_at, now_of(request), mode)
    except (SlotTakenError, VideoCapReachedError):
        return page("slot_taken.html.j2", 409, practitioner_id=card.id)
    return committed(request, outcome, day_url(card, starts_at))


HANDLERS = [day_view, week_view, appointment_page, cancel, honoured, missed, move_page, move]
