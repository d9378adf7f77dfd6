"""The practitioner books for a patient and blocks periods.

A block over booked appointments is refused by the domain: the page then
lists each of them with a cancel-with-reason form, and the block form
stays filled in so it can be sent again once they are dealt with.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import BlockConflictError, SlotTakenError, VideoCapReachedError
from consulta.http.pages_common import (
    AnyRequest,
    bad_input,
    committed,
    now_of,
    page,
    parse_slot,
    parse_uuid,
    services_of,
    staff_of,
)
from consulta.http.pages_pro import day_url, own_card
from consulta.projections.views import PractitionerCard

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class BookForm(msgspec.Struct):
    motif_id: str
    slot: str
    profile_id: str
    last_name: str = ""  # with birth_date: a patient new to the practice, as the search found them
    birth_date: str = ""


class BlockForm(msgspec.Struct):
    starts_at: str
    ends_at: str


@get("/pro/book", sync_to_thread=True, name="pro_book")
def book_page(
    request: AnyRequest,
    motif: FromQuery[str],
    slot: FromQuery[str],
    q: FromQuery[str] = "",
    last_name: FromQuery[str] = "",
    birth_date: FromQuery[str] = "",
) -> Template:
    """The chosen slot and the patient to book it for: a known patient, or name and birth date."""
    actor = staff_of(request)
    card = own_card(request, actor)
    chosen = card.rules.motif(motif)
    mode, starts_at = parse_slot(slot)
    reads = services_of(request).reads
    name = " ".join(q.split())[:100]
    known = reads.patients_of_practitioner(card.id, name)
    others = []
    if last_name.strip() and birth_date:
        try:
            born = date.fromisoformat(birth_date)
        except ValueError:
            raise bad_input("birth date") from None
        others = reads.profiles_by_name_and_birth(last_name[:100], born)
    return page(
        "pro_book.html.j2",
        card=card,
        motif=chosen,
        mode=mode,
        starts_at=starts_at,
        slot=slot,
        q=name,
        last_name=last_name[:100],
        birth_date=birth_date[:10],
        known=known,
        others=others,
    )


@post("/pro/appointments", sync_to_thread=True, name="pro_book_submit")
def book(request: AnyRequest, data: Annotated[BookForm, Form]) -> Template | Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    mode, starts_at = parse_slot(data.slot)
    profile_id = parse_uuid(data.profile_id, "patient")
    named = None
    if data.last_name.strip() and data.birth_date:
        try:
            named = (data.last_name[:100], date.fromisoformat(data.birth_date[:10]))
        except ValueError:
            raise bad_input("birth date") from None
    try:
        outcome = services_of(request).app.book(
            actor, card.id, data.motif_id, mode, starts_at, profile_id, now_of(request), named=named
        )
    except (SlotTakenError, VideoCapReachedError):
        return page("slot_taken.html.j2", 409, practitioner_id=card.id)
    return committed(request, outcome, day_url(card, starts_at))


def local_input(card: PractitionerCard, value: str) -> datetime:
    """A `datetime-local` value, read in the practitioner's zone."""
    try:
        wall = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input("time") from None
    if wall.tzinfo is not None:
        raise bad_input("time")
    return wall.replace(tzinfo=card.rules.zone).astimezone(UTC)


@get("/pro/block", sync_to_thread=True, name="pro_block")
def block_page(request: AnyRequest, starts_at: FromQuery[str] = "", ends_at: FromQuery[str] = "") -> Template:
    actor = staff_of(request)
    card = own_card(request, actor)
    return page(
        "pro_block.html.j2",
        card=card,
        form={"starts_at": starts_at[:16], "ends_at": ends_at[:16]},
        conflicts=None,
    )


@post("/pro/blocks", sync_to_thread=True, name="pro_block_submit")
def block(request: AnyRequest, data: Annotated[BlockForm, Form]) -> Template | Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    starts_at, ends_at = local_input(card, data.starts_at), local_input(card, data.ends_at)
    if not starts_at < ends_at:
        raise bad_input("period: it must end after it starts")
    try:
        outcome = services_of(request).app.block_period(actor, card.id, starts_at, ends_at, now_of(request))
    except BlockConflictError as error:
        wanted = set(error.appointment_ids)
        inside = services_of(request).reads.agenda(card.id, starts_at, ends_at)["appointments"]
        conflicts = [a for a in inside if str(a["id"]) in wanted]
        back = "/pro/block?" + urlencode({"starts_at": data.starts_at[:16], "ends_at": data.ends_at[:16]})
        return page(
            "pro_block.html.j2",
            409,
            card=card,
            conflicts=conflicts,
            back=back,
            form={"starts_at": data.starts_at[:16], "ends_at": data.ends_at[:16]},
            missing=len(wanted) - len(conflicts),
        )
    return committed(request, outcome, day_url(card, starts_at))


@post("/pro/blocks/{block_id:uuid}/lift", sync_to_thread=True, name="pro_lift_block")
def lift(request: AnyRequest, block_id: FromPath[UUID]) -> Redirect:
    actor = staff_of(request)
    card = own_card(request, actor)
    extent = services_of(request).reads.block_extent(card.id, block_id)
    if extent is None:
        raise NotFoundException("No such blocked period.")
    outcome = services_of(request).app.lift_block(actor, card.id, block_id, *extent)
    return committed(request, outcome, day_url(card, extent[0]))


HANDLERS = [book_page, book, block_page, block, lift]
