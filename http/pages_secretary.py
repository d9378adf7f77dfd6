"""The tele-secretary's pages: the agendas granted, finding or creating a patient, booking, messages.

A secretary works on one agenda at a time (`POST /sec/agenda` puts it in
the session); every request checks the grant again against its aggregate
(http/auth.py `page_actor`), so a revoked grant leaves them nothing at once.
The practitioner's agenda pages (/pro/...) serve them too. Clinical
documents and reports are never shown to secretaries.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import DomainError
from consulta.application import Actor
from consulta.http.auth import SESSION_ACTOR, actor_to_session, page_actor
from consulta.http.pages_common import (
    AnyRequest,
    bad_input,
    login_url,
    now_of,
    page,
    parse_uuid,
    see_other,
    services_of,
    session_value,
    staff_of,
    translate,
    update_session,
)
from consulta.http.pages_identity_mail import send
from consulta.http.pages_pro import own_card
from consulta.projections.account_views import AccountReads

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class AgendaChoice(msgspec.Struct):
    practitioner_id: str


class NewPatientForm(msgspec.Struct):
    first_name: str
    last_name: str
    birth_date: str
    phone: str = ""
    email: str = ""


class MessageForm(msgspec.Struct):
    text: str
    profile_id: str = ""


def secretary_of(request: AnyRequest) -> Actor:
    actor = page_actor(request)
    if actor is None or actor.role != "secretary":
        raise NotFoundException("page not found")
    return actor


FOUND = "sec_found"  # session: profiles the secretary's last search found (they may open them)


def reachable_profile(request: AnyRequest, actor: Actor, profile_id: UUID) -> dict[str, object]:
    """A patient of the agenda (an appointment, or created by the practice) or just found by a search; else 404."""
    reads = AccountReads(services_of(request).reads)
    found = session_value(request, FOUND) or []
    if str(profile_id) not in found and not reads.is_patient_of(agenda(actor), profile_id):
        raise NotFoundException("No such patient.")
    person = reads.profile_card(profile_id)
    if person is None:
        raise NotFoundException("No such patient.")
    return person


def agenda(actor: Actor) -> UUID:
    """The agenda a working secretary is on (working_secretary made sure there is one)."""
    assert actor.practitioner_id is not None
    return actor.practitioner_id


def working_secretary(request: AnyRequest) -> Actor:
    """A secretary on an agenda granted to them right now (404 otherwise)."""
    actor = staff_of(request)
    if actor.role != "secretary":
        raise NotFoundException("page not found")
    return actor


@get("/sec", sync_to_thread=True, name="sec_home")
def home(request: AnyRequest) -> Template | Redirect:
    actor = page_actor(request)
    if actor is None:
        return see_other(login_url("/sec"))
    if actor.role != "secretary":
        raise NotFoundException("page not found")
    agendas = AccountReads(services_of(request).reads).agendas_of_secretary(actor.account_id)
    return page("sec_home.html.j2", agendas=agendas, current=actor.practitioner_id)


@post("/sec/agenda", sync_to_thread=True, name="sec_choose_agenda")
def choose_agenda(request: AnyRequest, data: Annotated[AgendaChoice, Form]) -> Redirect:
    actor = secretary_of(request)
    practitioner_id = parse_uuid(data.practitioner_id, "practitioner")
    working = services_of(request).app.secretary_actor(
        actor.account_id, practitioner_id
    )  # 404 unless granted
    update_session(request, **{SESSION_ACTOR: actor_to_session(working)})
    request.scope.pop("consulta_actor", None)  # type: ignore[misc,typeddict-item]
    return see_other("/pro/agenda")


@get("/sec/patients", sync_to_thread=True, name="sec_patients")
def patients(
    request: AnyRequest,
    name: FromQuery[str] = "",
    birth_date: FromQuery[str] = "",
    phone: FromQuery[str] = "",
) -> Template:
    actor = working_secretary(request)
    born = None
    if birth_date:
        try:
            born = date.fromisoformat(birth_date[:10])
        except ValueError:
            raise bad_input("birth date") from None
    from consulta.aggregates.family import checked_phone

    try:
        wanted_phone = checked_phone(phone[:30])
    except DomainError:
        raise bad_input("phone") from None
    name = " ".join(name.split())[:100]
    found = AccountReads(services_of(request).reads).find_patients(
        agenda(actor),
        name,
        born,
        wanted_phone,
    )
    update_session(request, **{FOUND: [str(p["id"]) for p in found]})
    return page("sec_patients.html.j2", found=found, name=name, birth_date=birth_date[:10],
                phone=phone[:30], searched=bool(name or born or wanted_phone), error=None, form={})  # fmt: skip


@post("/sec/patients/new", sync_to_thread=True, name="sec_new_patient")
def new_patient(request: AnyRequest, data: Annotated[NewPatientForm, Form]) -> Template | Redirect:
    actor = working_secretary(request)
    services = services_of(request)
    form = {
        k: str(getattr(data, k))[:100] for k in ("first_name", "last_name", "birth_date", "phone", "email")
    }
    try:
        born = date.fromisoformat(data.birth_date[:10])
        outcome = services.app.create_practice_profile(
            actor, agenda(actor), data.first_name[:100], data.last_name[:100], born,
            data.phone[:30], data.email[:320], now_of(request),
        )  # fmt: skip
    except (ValueError, DomainError):
        message = translate(
            request, "Check the name, the birth date (a past date), the phone and the e-mail."
        )
        return page("sec_patients.html.j2", 422, found=[], name="", birth_date="", phone="", searched=False,
                    error=message, form=form)  # fmt: skip
    services.wait_for(outcome.position, ("profiles", "secretaries"))
    return see_other(f"/sec/patients/{outcome.id}/book")


@get("/sec/patients/{profile_id:uuid}/book", sync_to_thread=True, name="sec_book")
def book_for(
    request: AnyRequest, profile_id: FromPath[UUID], motif: FromQuery[str] = "", invited: FromQuery[str] = ""
) -> Template:
    """The next free slots of a motif, to book for this patient (the form posts to /pro/appointments)."""
    actor = working_secretary(request)
    card = own_card(request, actor)
    person = reachable_profile(request, actor, profile_id)
    motif_ids = [m.id for m in card.rules.motifs]
    chosen = motif if motif in motif_ids else (motif_ids[0] if motif_ids else None)
    now = now_of(request)
    slots = (
        services_of(request).reads.free_slots(card, chosen, now, now + timedelta(days=21), now, staff=True, limit=40)
        if chosen else []
    )  # fmt: skip
    return page(
        "sec_book.html.j2", card=card, person=person, motif_id=chosen, slots=slots, invited=invited[:3]
    )


@get("/sec/message", sync_to_thread=True, name="sec_message")
def message_page(request: AnyRequest, profile: FromQuery[str] = "") -> Template:
    working_secretary(request)
    return page("sec_message.html.j2", profile_id=profile[:36], error=None, sent=False)


@post("/sec/messages", sync_to_thread=True, name="sec_message_submit")
def leave_message(request: AnyRequest, data: Annotated[MessageForm, Form]) -> Template:
    actor = working_secretary(request)
    services = services_of(request)
    profile_id = parse_uuid(data.profile_id, "patient") if data.profile_id else None
    if profile_id is not None:
        reachable_profile(request, actor, profile_id)
    try:
        outcome = services.app.leave_message(
            actor,
            agenda(actor),
            data.text[:2000],
            profile_id,
            now_of(request),
        )
    except DomainError as error:
        if error.code == "not_found":
            raise
        return page("sec_message.html.j2", 422, profile_id=data.profile_id[:36], sent=False,
                    error=translate(request, "A message has 1 to 2000 characters."))  # fmt: skip
    services.wait_for(outcome.position, ("secretaries",))
    return page("sec_message.html.j2", profile_id="", error=None, sent=True)


@post("/sec/patients/{profile_id:uuid}/invite", sync_to_thread=True, name="sec_invite")
def invite(request: AnyRequest, profile_id: FromPath[UUID]) -> Template | Redirect:
    """E-mail the person of a profile without an account a link to claim it (to the profile's e-mail)."""
    actor = working_secretary(request)
    reachable_profile(request, actor, profile_id)
    try:
        token, email = services_of(request).app.invite_to_claim(
            actor,
            agenda(actor),
            profile_id,
            now_of(request),
        )
    except DomainError as error:
        if error.code == "not_found":
            raise
        return see_other(f"/sec/patients/{profile_id}/book?invited=no")
    sent = send(request, "claim_profile", email, path=f"/family/claim/{token}")
    return see_other(f"/sec/patients/{profile_id}/book?invited=" + ("yes" if sent else "no"))


HANDLERS = [home, choose_agenda, patients, new_patient, book_for, invite, message_page, leave_message]
