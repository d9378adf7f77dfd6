"""API accounts: register a patient, log in for a bearer token (rate-limited)."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Request, post
from litestar.exceptions import TooManyRequestsException
from litestar.params import JSONBody

from consulta.aggregates.errors import AuthenticationError, DomainError
from consulta.application import Actor
from consulta.http.api_schemas import LoginBody, RegisterBody, Registered, Token
from consulta.http.api_support import problems, require_json, services_of
from consulta.http.security_attempts import attempt_allowed, attempt_failed, attempt_succeeded
from consulta.totp_seal import SecondFactorKeyError


@post(
    "/auth/register",
    guards=[require_json],
    sync_to_thread=True,
    summary="Register a patient account",
    description="Creates the account and the patient's own profile. An e-mail already in use answers 409.",
    responses=problems(400, 409, 413, 415, 422),
)
def register(request: Request[Any, Any, Any], data: JSONBody[RegisterBody]) -> Registered:
    services = services_of(request)
    outcome = services.app.register_patient(
        data.email, data.password, data.first_name, data.last_name, data.birth_date, services.clock.now()
    )
    services.wait_for(outcome.position)
    account = services.app.get_account(outcome.id)
    return Registered(id=outcome.id, profile_id=account.profile_id)


@post(
    "/auth/login",
    guards=[require_json],
    status_code=200,
    summary="Log in for a bearer token",
    description=(
        "Answers `{token}`; send it as `Authorization: Bearer <token>`. Attempts are limited per"
        " client address and per account each minute (429 with Retry-After)."
    ),
    responses=problems(400, 401, 413, 415, 422, 429),
)
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginBody]) -> Token:
    services = services_of(request)
    wait = await attempt_allowed(request, "login", data.email)
    if wait is not None:
        raise TooManyRequestsException(
            detail="Too many login attempts: try again later.", headers={"Retry-After": str(wait)}
        )
    try:
        account = await to_thread.run_sync(services.app.authenticate, data.email, data.password)
    except AuthenticationError:
        await attempt_failed(request, "login", data.email)
        raise
    try:
        second_factor = await to_thread.run_sync(_second_factor, services, account, data.code)
    except AuthenticationError:
        await attempt_failed(request, "login", data.email)
        raise
    await attempt_succeeded(request, "login", data.email)
    actor = Actor(account.id, account.role, account.practitioner_id)
    token = await request.app.state.api_tokens.issue(actor, second_factor)
    return Token(token=token, expires_in=request.app.state.api_tokens.lifetime)


def _second_factor(services: Any, account: Any, code: str) -> str | None:
    """ "totp" when a right authenticator code came with the password; refused when one is needed and missing.

    Staff always need it; patients once they turned it on. Codes by e-mail are for the pages only.
    """
    app = services.app
    if not code:
        if app.needs_second_factor(account):
            raise AuthenticationError(
                "second_factor_required: send the code of your authenticator app as `code`"
            )
        return None
    try:
        app.verify_totp(account.id, code, services.clock.now())
    except SecondFactorKeyError:
        raise  # 422 "second_factor_key_changed": the server's secret key changed
    except DomainError:
        raise AuthenticationError("wrong or already used code") from None
    return "totp"


ACCOUNT_HANDLERS = [register, login]
