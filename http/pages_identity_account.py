"""My account: e-mail confirmation, password reset, language remembered on the account.

Links in e-mails open a page (GET records nothing) whose button confirms
(POST). A link is good once and expires; a used, expired or unknown link
gets one plain answer and changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import DomainError, InvalidInputError
from consulta.http.auth import page_actor
from consulta.http.pages_common import (
    AnyRequest,
    login_url,
    now_of,
    page,
    see_other,
    services_of,
    translate,
)
from consulta.http.pages_identity_mail import send
from consulta.http.second_factor import page_second_factor
from consulta.http.security import end_all_sessions
from consulta.http.security_attempts import attempt_allowed

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class EmailForm(msgspec.Struct):
    email: str = ""


class PasswordForm(msgspec.Struct):
    password: str = ""


def send_confirmation(request: AnyRequest, account_id: UUID) -> bool:
    app = services_of(request).app
    token, _ = app.request_email_confirmation(account_id, now_of(request))
    return send(request, "confirm_email", app.get_account(account_id).email, path=f"/account/confirm/{token}")


@get("/account", sync_to_thread=True, name="account")
def account_page(request: AnyRequest, done: FromQuery[str] = "") -> Template | Redirect:
    actor = page_actor(request)
    if actor is None:
        return see_other(login_url("/account"))
    app = services_of(request).app
    account = app.get_account(actor.account_id)
    identity = app.identity(actor.account_id)
    return page(
        "account.html.j2",
        account=account,
        identity=identity,
        passed=page_second_factor(request),
        done=done[:20],
    )


@post("/account/confirmation", sync_to_thread=True, name="account_send_confirmation")
def request_confirmation(request: AnyRequest) -> Redirect:
    actor = page_actor(request)
    if actor is None:
        return see_other(login_url("/account"))
    sent = send_confirmation(request, actor.account_id)
    return see_other("/account?done=" + ("sent" if sent else "not-sent"))


@get("/account/confirm/{token:str}", sync_to_thread=False, name="confirm_email")
def confirm_page(token: FromPath[str]) -> Template:
    return page("confirm_email.html.j2", token=token[:100], error=None)


@post("/account/confirm/{token:str}/done", sync_to_thread=True, name="confirm_email_submit")
def confirm(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    services = services_of(request)
    try:
        outcome = services.app.confirm_email(token, now_of(request))
    except DomainError:
        return page(
            "confirm_email.html.j2",
            410,
            token=None,
            error=translate(request, "This link is no longer valid."),
        )
    services.wait_for(outcome.position, ("accounts",))
    return page("confirm_email.html.j2", token=None, error=None, confirmed=True)


@get("/password/forgot", sync_to_thread=False, name="password_forgot")
def forgot_page() -> Template:
    return page("password_forgot.html.j2", sent=False)


@post("/password/forgot/send", name="password_forgot_submit")
async def forgot(request: AnyRequest, data: Annotated[EmailForm, Form]) -> Template:
    """The same answer whether or not an account uses the address (no account discovery).

    Requests are capped per address and e-mail each minute, in the shared store (no mail bombing).
    """
    wait = await attempt_allowed(request, "reset", data.email[:320])
    if wait is not None:
        refused = page("password_forgot.html.j2", 429, sent=False)
        refused.headers["Retry-After"] = str(wait)
        return refused
    return await to_thread.run_sync(_send_reset, request, data.email[:320])


def _send_reset(request: AnyRequest, email: str) -> Template:
    found = services_of(request).app.request_password_reset(email, now_of(request))
    if found is not None:
        token, account = found
        send(request, "reset_password", account.email, path=f"/password/reset/{token}")
    return page("password_forgot.html.j2", sent=True)


@get("/password/reset/{token:str}", sync_to_thread=True, name="password_reset")
def reset_page(request: AnyRequest, token: FromPath[str]) -> Template:
    try:
        services_of(request).app.token(token, "reset_password", now_of(request))
    except DomainError:
        return page(
            "password_reset.html.j2",
            410,
            token=None,
            error=translate(request, "This link is no longer valid."),
        )
    return page("password_reset.html.j2", token=token, error=None)


@post("/password/reset/{token:str}/done", name="password_reset_submit")
async def reset(
    request: AnyRequest, token: FromPath[str], data: Annotated[PasswordForm, Form]
) -> Template | Redirect:
    now = now_of(request)
    answer, account_id = await to_thread.run_sync(_reset, request, token, data.password[:256], now)
    if account_id is not None:  # every other device of the account logs in again too (a stolen session ends)
        await end_all_sessions(request.app, account_id, now.timestamp())
    return answer


def _reset(
    request: AnyRequest, token: str, password: str, now: Any
) -> tuple[Template | Redirect, UUID | None]:
    try:
        outcome = services_of(request).app.reset_password(token, password, now)
    except InvalidInputError:
        message = translate(request, "A password has 10 to 256 characters.")
        return page("password_reset.html.j2", 422, token=token, error=message), None
    except DomainError:
        return page(
            "password_reset.html.j2",
            410,
            token=None,
            error=translate(request, "This link is no longer valid."),
        ), None
    request.clear_session()  # whoever was logged in here logs in again with the new password
    return see_other("/login?reset=1"), outcome.id


HANDLERS = [account_page, request_confirmation, confirm_page, confirm, forgot_page, forgot, reset_page, reset]
