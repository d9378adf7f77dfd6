"""My family: the profiles an account manages, adding one, handing one over, claiming one.

A hand-over or a claim goes through a one-time link sent by e-mail. Once
the new account takes the profile, the former manager loses it at once: the
commands check the profile's manager (an aggregate) at every booking,
cancellation or move, and the pages read the updated manager.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import DomainError, EmailTakenError, InvalidInputError
from consulta.aggregates.family import HANDOVER_AGE, age_on, checked_email
from consulta.application import Actor
from consulta.http.auth import page_actor
from consulta.http.pages_common import (
    AnyRequest,
    login_url,
    now_of,
    page,
    patient_of,
    see_other,
    services_of,
    translate,
)
from consulta.http.pages_identity import finish_login
from consulta.http.pages_identity_mail import send
from consulta.projections.account_views import AccountReads
from consulta.services import BOOKING_VIEWS

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
FAMILY_VIEWS = (*BOOKING_VIEWS, "profiles", "secretaries")


class ProfileForm(msgspec.Struct):
    first_name: str
    last_name: str
    birth_date: str


class InviteForm(msgspec.Struct):
    email: str


class ClaimRegisterForm(msgspec.Struct):
    email: str
    password: str


def _family_page(
    request: AnyRequest, actor: Actor, status: int = 200, error: str | None = None, done: str = ""
) -> Template:
    services = services_of(request)
    own = services.app.get_account(actor.account_id).profile_id
    today = now_of(request).date()
    people = AccountReads(services.reads).family(actor.account_id)
    for p in people:
        p["own"] = p["id"] == own
        p["can_hand_over"] = not p["own"] and age_on(p["birth_date"], today) >= HANDOVER_AGE
    return page("family.html.j2", status, people=people, error=error, done=done, form={})


@get("/family", sync_to_thread=True, name="family")
def family(request: AnyRequest, done: FromQuery[str] = "") -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/family"))
    return _family_page(request, actor, done=done[:20])


@post("/family/profiles", sync_to_thread=True, name="family_add")
def add(request: AnyRequest, data: Annotated[ProfileForm, Form]) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/family"))
    services = services_of(request)
    try:
        born = date.fromisoformat(data.birth_date[:10])
        outcome = services.app.add_profile(
            actor, data.first_name[:100], data.last_name[:100], born, now_of(request)
        )
    except (ValueError, InvalidInputError):
        message = translate(request, "Enter a first and last name and a past birth date.")
        return _family_page(request, actor, 422, message)
    services.wait_for(outcome.position, FAMILY_VIEWS)
    return see_other("/family?done=added")


@post("/family/profiles/{profile_id:uuid}/hand-over", sync_to_thread=True, name="family_hand_over")
def hand_over(
    request: AnyRequest, profile_id: FromPath[UUID], data: Annotated[InviteForm, Form]
) -> Template | Redirect:
    """E-mail a one-time link: whoever opens it and takes the profile becomes its manager."""
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url("/family"))
    app = services_of(request).app
    try:
        email = checked_email(data.email[:320])
        if not email:
            raise InvalidInputError("e-mail required")
        token, _ = app.invite_to_take_over(actor, profile_id, now_of(request))  # 404 unless I manage it
    except InvalidInputError:
        message = translate(
            request, "A profile is handed over from the age of 15, to a valid e-mail address."
        )
        return _family_page(request, actor, 422, message)
    sent = send(request, "claim_profile", email, path=f"/family/claim/{token}")
    return see_other("/family?done=" + ("invited" if sent else "not-sent"))


@get("/family/claim/{token:str}", sync_to_thread=True, name="family_claim")
def claim_page(request: AnyRequest, token: FromPath[str]) -> Template:
    try:
        services_of(request).app.token(token, "claim_profile", now_of(request))
    except DomainError:
        return page("family_claim.html.j2", 410, token=None, actor=None,
                    error=translate(request, "This link is no longer valid."))  # fmt: skip
    return page("family_claim.html.j2", token=token, actor=page_actor(request), error=None)


@post("/family/claim/{token:str}/take", sync_to_thread=True, name="family_claim_take")
def take(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    """A logged-in patient takes the profile into their account."""
    actor = patient_of(request)
    if actor is None:
        return see_other(login_url(f"/family/claim/{token[:100]}"))
    services = services_of(request)
    try:
        outcome = services.app.claim_profile(actor, token, now_of(request))
    except DomainError:
        return page("family_claim.html.j2", 410, token=None, actor=actor,
                    error=translate(request, "This link is no longer valid."))  # fmt: skip
    services.wait_for(outcome.position, FAMILY_VIEWS)
    return see_other("/family?done=claimed")


@post("/family/claim/{token:str}/register", sync_to_thread=True, name="family_claim_register")
def register_and_take(
    request: AnyRequest, token: FromPath[str], data: Annotated[ClaimRegisterForm, Form]
) -> Template | Redirect:
    """A first account, whose own profile is the one handed over."""
    services = services_of(request)
    try:
        outcome = services.app.register_and_claim(
            token, data.email[:320], data.password[:256], now_of(request)
        )
    except EmailTakenError:
        return page("family_claim.html.j2", 409, token=token, actor=None,
                    error=translate(request, "An account already uses this e-mail. Log in instead."))  # fmt: skip
    except InvalidInputError:
        return page("family_claim.html.j2", 422, token=token, actor=None,
                    error=translate(request, "Enter a valid e-mail and a password of 10 to 256 characters."))  # fmt: skip
    except DomainError:
        return page("family_claim.html.j2", 410, token=None, actor=None,
                    error=translate(request, "This link is no longer valid."))  # fmt: skip
    services.wait_for(outcome.position, (*FAMILY_VIEWS, "accounts"))
    return finish_login(request, services.app.get_account(outcome.id), "/my/appointments", None)


HANDLERS = [family, add, hand_over, claim_page, take, register_and_take]
