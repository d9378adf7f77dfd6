"""Register (patients), log in (patients and practitioners: the account says which), log out."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from anyio import to_thread
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import AuthenticationError, EmailTakenError, InvalidInputError
from consulta.application import Actor
from consulta.http.auth import page_actor
from consulta.http.pages_common import (
    SESSION_HOLD,
    AnyRequest,
    end_session,
    now_of,
    page,
    safe_next,
    see_other,
    services_of,
    session_value,
    start_session,
    translate,
)
from consulta.http.security_attempts import attempt_allowed, attempt_failed, attempt_succeeded
from consulta.services import BOOKING_VIEWS

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class LoginForm(msgspec.Struct):
    email: str
    password: str
    next: str = ""


class RegisterForm(msgspec.Struct):
    email: str
    password: str
    first_name: str
    last_name: str
    birth_date: str
    next: str = ""


def landing(actor: Actor, next_url: str) -> str:
    default = "/pro/agenda" if actor.practitioner_id else "/my/appointments"
    return safe_next(next_url, default)


@get("/login", sync_to_thread=False, name="login")
def login_page(request: AnyRequest, next: FromQuery[str] = "") -> Template:
    return page("login.html.j2", next=safe_next(next, ""), form={}, error=None, actor=page_actor(request))


@post("/login", name="login_submit")
async def login(request: AnyRequest, data: Annotated[LoginForm, Form]) -> Template | Redirect:
    app = services_of(request).app
    email = data.email[:320]

    def again(status: int, message: str) -> Template:
        return page(
            "login.html.j2",
            status,
            next=safe_next(data.next, ""),
            form={"email": email},
            error=translate(request, message),
            actor=None,
        )

    wait = await attempt_allowed(request, "login", email)
    if wait is not None:
        refused = again(429, "Too many attempts: wait a few minutes, then try again.")
        refused.headers["Retry-After"] = str(wait)
        return refused
    try:
        account = await to_thread.run_sync(app.authenticate, email, data.password[:256])
    except AuthenticationError:
        await attempt_failed(request, "login", email)
        return again(401, "Wrong e-mail or password.")
    await attempt_succeeded(request, "login", email)
    from consulta.http.pages_identity import after_password  # the second factor, when the account needs one

    return await to_thread.run_sync(after_password, request, account, data.next)


@post("/logout", sync_to_thread=False, name="logout")
def logout(request: AnyRequest) -> Redirect:
    end_session(request)
    return see_other("/")


@get("/register", sync_to_thread=False, name="register")
def register_page(next: FromQuery[str] = "") -> Template:
    return page("register.html.j2", next=safe_next(next, ""), form={}, error=None)


@post("/register", sync_to_thread=True, name="register_submit")
def register(request: AnyRequest, data: Annotated[RegisterForm, Form]) -> Template | Redirect:
    services = services_of(request)
    kept = {
        "email": data.email[:320],
        "first_name": data.first_name[:100],
        "last_name": data.last_name[:100],
        "birth_date": data.birth_date[:10],
    }

    def again(status: int, message: str) -> Template:
        return page(
            "register.html.j2",
            status,
            next=safe_next(data.next, ""),
            form=kept,
            error=translate(request, message),
        )

    try:
        birth = date.fromisoformat(data.birth_date)
    except ValueError:
        return again(400, "Enter your birth date as YYYY-MM-DD.")
    now = now_of(request)
    try:
        outcome = services.app.register_patient(
            data.email[:320], data.password, data.first_name, data.last_name, birth, now
        )
    except EmailTakenError:
        return again(409, "An account already uses this e-mail. Log in instead.")
    except InvalidInputError as error:
        return again(422, _register_message(error.detail))
    from consulta.http.pages_identity_account import send_confirmation

    send_confirmation(request, outcome.id)
    services.wait_for(outcome.position, (*BOOKING_VIEWS, "profiles"))
    actor = Actor(outcome.id, "patient")
    cleanup = start_session(request, actor, keep={SESSION_HOLD: session_value(request, SESSION_HOLD)})
    return see_other(landing(actor, data.next), cleanup)


def _register_message(detail: str) -> str:
    """The domain's refusal, as one of the sentences the catalogues translate."""
    if "password" in detail:
        return "A password has 10 to 256 characters."
    if "birth" in detail:
        return "The birth date must be a past date."
    if "e-mail" in detail or "email" in detail:
        return "This e-mail address is not valid."
    return "Enter your first and last name (at most 100 characters each)."


HANDLERS = [login_page, login, logout, register_page, register]
