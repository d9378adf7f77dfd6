"""The second factor at login and before health data: codes from an authenticator app or by e-mail.

After the password, an account that needs a second factor (staff always,
patients once they turned one on) gets a session holding only
`pending_login`: no actor yet, nothing readable. The code step then starts
the real session (a fresh id) with `second_factor` set. A logged-in patient
without a second factor who opens health data is sent to
/account/second-factor to turn one on; that also marks the session, under a fresh id.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.account import Account
from consulta.aggregates.errors import DomainError
from consulta.application import Actor
from consulta.http import i18n
from consulta.http.auth import page_actor
from consulta.http.pages_common import (
    SESSION_HOLD,
    AnyRequest,
    language_cookie,
    login_url,
    now_of,
    page,
    safe_next,
    see_other,
    services_of,
    session_value,
    start_session,
    translate,
    update_session,
)
from consulta.http.pages_identity_mail import send
from consulta.http.second_factor import SESSION_SECOND_FACTOR
from consulta.http.security_attempts import attempt_allowed, attempt_failed, attempt_succeeded
from consulta.totp_seal import SecondFactorKeyError

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
PENDING = "pending_login"
TOTP_SETUP = "totp_setup"
EMAIL_CHALLENGE = "email_challenge"
MAX_TRIES = 5
KEY_CHANGED = "The server's secret key changed: your second factor cannot be checked. Please contact support."


class CodeForm(msgspec.Struct):
    code: str = ""
    next: str = ""


def totp_uri(secret: str, email: str) -> str:
    import pyotp

    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Consulta")


def landing(actor: Actor, next_url: str) -> str:
    if actor.role == "secretary":
        default = "/sec"
    else:
        default = "/pro/agenda" if actor.practitioner_id else "/my/appointments"
    return safe_next(next_url, default)


def actor_of(account: Account) -> Actor:
    return Actor(account.id, account.role, account.practitioner_id)


def finish_login(request: AnyRequest, account: Account, next_url: str, second_factor: str | None) -> Redirect:
    """The real session: a fresh id, the actor, the second factor that passed, the account's language."""
    actor = actor_of(account)
    keep: dict[str, Any] = {SESSION_HOLD: session_value(request, SESSION_HOLD)}
    if second_factor:
        keep[SESSION_SECOND_FACTOR] = second_factor
    cleanup = start_session(request, actor, keep=keep)
    response = see_other(landing(actor, next_url), cleanup)
    language = services_of(request).app.identity(account.id).language
    if language in i18n.LANGUAGES:
        response.cookies.append(language_cookie(language))  # type: ignore[arg-type]
    return response


def after_password(request: AnyRequest, account: Account, next_url: str) -> Redirect:
    """Called by the login form once the password matched."""
    app = services_of(request).app
    if not app.needs_second_factor(account):
        return finish_login(request, account, next_url, None)
    pending: dict[str, Any] = {"account_id": str(account.id), "next": safe_next(next_url, ""), "tries": 0}
    identity = app.identity(account.id)
    if identity.second_factor == "email":
        challenge, code = app.send_email_code(account.id, now_of(request))
        pending["challenge"] = challenge
        send(request, "email_code", account.email, identity.language, code=code)
    elif identity.second_factor is None:
        pending["setup_secret"] = app.new_totp_secret()  # staff set up their app at first login
    cleanup = start_session(request, actor_of(account), keep={PENDING: pending})
    request.set_session({PENDING: pending})  # a fresh id, but no actor until the code is right
    return see_other("/login/second-factor", cleanup)


def _pending(request: AnyRequest) -> tuple[dict[str, Any], Account] | None:
    pending = session_value(request, PENDING)
    if not isinstance(pending, dict):
        return None
    try:
        account = services_of(request).app.get_account(UUID(str(pending.get("account_id"))))
    except (ValueError, DomainError):
        return None
    return pending, account


def _step_page(
    request: AnyRequest,
    pending: dict[str, Any],
    account: Account,
    status: int = 200,
    error: str | None = None,
) -> Template:
    method = services_of(request).app.identity(account.id).second_factor
    secret = pending.get("setup_secret")
    return page(
        "second_factor.html.j2",
        status,
        method=method,
        secret=secret,
        uri=totp_uri(secret, account.email) if secret else None,
        action="/login/code",
        next="",
        error=error,
    )


@get("/login/second-factor", sync_to_thread=True, name="login_second_factor")
def second_step(request: AnyRequest) -> Template | Redirect:
    found = _pending(request)
    if found is None:
        return see_other("/login")
    return _step_page(request, *found)


@post("/login/code", name="login_code")
async def second_step_submit(request: AnyRequest, data: Annotated[CodeForm, Form]) -> Template | Redirect:
    """Codes are checked within the per-account back-off (kind "code"), shared by every web process."""
    found = await to_thread.run_sync(_pending, request)
    if found is None:
        return see_other("/login")
    pending, account = found
    wait = await attempt_allowed(request, "code", str(account.id))
    if wait is not None:
        message = translate(request, "Too many attempts: wait a few minutes, then try again.")
        refused = await to_thread.run_sync(_step_page, request, pending, account, 429, message)
        refused.headers["Retry-After"] = str(wait)
        return refused
    answer, passed = await to_thread.run_sync(_check_code, request, data, pending, account)
    if passed:
        await attempt_succeeded(request, "code", str(account.id))
    else:
        await attempt_failed(request, "code", str(account.id))
    return answer


def _check_code(
    request: AnyRequest, data: CodeForm, pending: dict[str, Any], account: Account
) -> tuple[Template | Redirect, bool]:
    app = services_of(request).app
    now = now_of(request)
    try:
        if pending.get("setup_secret"):
            app.enable_totp(account.id, pending["setup_secret"], data.code[:20], now)
            method = "totp"
        elif pending.get("challenge"):
            app.verify_email_code(account.id, pending["challenge"], data.code[:20], now)
            method = "email"
        else:
            app.verify_totp(account.id, data.code[:20], now)
            method = "totp"
    except SecondFactorKeyError:  # no code can pass: say why, plainly (docs/security.md)
        return _step_page(request, pending, account, 422, translate(request, KEY_CHANGED)), False
    except DomainError:
        pending["tries"] = int(pending.get("tries", 0)) + 1
        if pending["tries"] >= MAX_TRIES:
            request.clear_session()
            return page("login.html.j2", 401, next="", form={}, actor=None,
                        error=translate(request, "Too many wrong codes: log in again.")), False  # fmt: skip
        update_session(request, **{PENDING: pending})
        return _step_page(request, pending, account, 401, translate(request, "Wrong or expired code.")), False
    return finish_login(request, account, str(pending.get("next") or ""), method), True


# -- a second factor before health data, for a session that has none yet -----------------


REPLACE_URL = "/account/second-factor?replace=1"


def _replacing(request: AnyRequest, method: str | None) -> bool:
    """A new authenticator app in place of the current factor: only once this session has passed it."""
    return method is not None and bool(session_value(request, SESSION_SECOND_FACTOR))


@get("/account/second-factor", sync_to_thread=True, name="second_factor")
def second_factor_page(request: AnyRequest, next: FromQuery[str] = "", replace: FromQuery[str] = "") -> Template | Redirect:
    actor = page_actor(request)
    if actor is None:
        return see_other(login_url(safe_next(next, "/my/appointments")))
    app = services_of(request).app
    identity = app.identity(actor.account_id)
    secret = None
    replacing = replace == "1" and _replacing(request, identity.second_factor)
    if identity.second_factor is None or replacing:
        secret = session_value(request, TOTP_SETUP) or app.new_totp_secret()
        update_session(request, **{TOTP_SETUP: secret})
    elif replace == "1":  # pass the current factor first, then come back here
        next = REPLACE_URL
    email = app.get_account(actor.account_id).email
    return page(
        "second_factor.html.j2",
        method=identity.second_factor,
        secret=secret,
        uri=totp_uri(secret, email) if secret else None,
        action="/account/second-factor/code",
        next=safe_next(next, "/account" if replacing else ""),
        error=None,
        replacing=replacing,
        code_sent=bool(session_value(request, EMAIL_CHALLENGE)),
    )


@post("/account/second-factor/send", sync_to_thread=True, name="second_factor_send")
def second_factor_send(request: AnyRequest, data: Annotated[CodeForm, Form]) -> Redirect:
    """E-mail a code (the page itself, a GET, records nothing)."""
    actor = page_actor(request)
    if actor is None:
        return see_other("/login")
    app = services_of(request).app
    identity = app.identity(actor.account_id)
    if identity.second_factor == "email":
        challenge, code = app.send_email_code(actor.account_id, now_of(request))
        update_session(request, **{EMAIL_CHALLENGE: challenge})
        send(request, "email_code", app.get_account(actor.account_id).email, identity.language, code=code)
    return see_other("/account/second-factor?" + urlencode({"next": safe_next(data.next, "")}))


@post("/account/second-factor/code", name="second_factor_submit")
async def second_factor_submit(request: AnyRequest, data: Annotated[CodeForm, Form]) -> Template | Redirect:
    """Codes are checked within the same per-account back-off as at login (kind "code")."""
    actor = page_actor(request)
    if actor is None:
        return see_other("/login")
    wait = await attempt_allowed(request, "code", str(actor.account_id))
    if wait is not None:
        message = translate(request, "Too many attempts: wait a few minutes, then try again.")
        refused = page("login.html.j2", 429, next="", form={}, actor=None, error=message)
        refused.headers["Retry-After"] = str(wait)
        return refused
    answer, passed = await to_thread.run_sync(_step_up, request, actor, data)
    if passed:
        await attempt_succeeded(request, "code", str(actor.account_id))
    else:
        await attempt_failed(request, "code", str(actor.account_id))
    return answer


def _step_up(request: AnyRequest, actor: Actor, data: CodeForm) -> tuple[Template | Redirect, bool]:
    app = services_of(request).app
    now = now_of(request)
    identity = app.identity(actor.account_id)
    setup = session_value(request, TOTP_SETUP)
    new_app = identity.second_factor is None or bool(setup and _replacing(request, identity.second_factor))
    try:
        if new_app:
            secret = setup
            if not secret:
                return see_other("/account/second-factor"), True
            outcome = app.enable_totp(actor.account_id, str(secret), data.code[:20], now)
            services_of(request).wait_for(outcome.position, ("accounts",))
            method = "totp"
        elif identity.second_factor == "email":
            app.verify_email_code(
                actor.account_id, str(session_value(request, EMAIL_CHALLENGE)), data.code[:20], now
            )
            method = "email"
        else:
            app.verify_totp(actor.account_id, data.code[:20], now)
            method = "totp"
    except DomainError as error:
        email = app.get_account(actor.account_id).email
        secret = setup if new_app else None
        key_changed = isinstance(error, SecondFactorKeyError)
        wrong = page(
            "second_factor.html.j2",
            422 if key_changed else 401,
            method=identity.second_factor,
            secret=secret,
            uri=totp_uri(str(secret), email) if secret else None,
            action="/account/second-factor/code",
            next=safe_next(data.next, ""),
            error=translate(request, KEY_CHANGED if key_changed else "Wrong or expired code."),
        )
        return wrong, False
    # A fresh session id, as at login; the session keeps its login time (absolute timeout) and data.
    current = request.scope.get("session")
    keep = {**(current if isinstance(current, dict) else {}), SESSION_SECOND_FACTOR: method}
    keep.pop(TOTP_SETUP, None)
    keep.pop(EMAIL_CHALLENGE, None)
    cleanup = start_session(request, actor, keep=keep)
    return see_other(safe_next(data.next, "/account"), cleanup), True


@post("/account/second-factor/email", sync_to_thread=True, name="second_factor_email")
def enable_email_codes(request: AnyRequest) -> Redirect:
    """Codes by e-mail, for an account whose address is confirmed; then a first code to pass."""
    actor = page_actor(request)
    if actor is None:
        return see_other("/login")
    services = services_of(request)
    try:
        outcome = services.app.enable_email_codes(actor.account_id, now_of(request))
    except DomainError:
        return see_other("/account")
    services.wait_for(outcome.position, ("accounts",))
    return see_other("/account/second-factor?next=/account")


HANDLERS = [
    enable_email_codes,
    second_step,
    second_step_submit,
    second_factor_page,
    second_factor_send,
    second_factor_submit,
]
