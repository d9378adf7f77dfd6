"""`require_second_factor`: health data is read only after a second factor, in pages and in the API.

Pages: the session records the method that passed (`session["second_factor"]`,
set by the login's second step or by turning a factor on). API: the bearer
token records it when the login sent a valid code. Without it, a page
redirects to the second-factor step (303, or the set-up page for a patient
who has none yet) and the API answers 403 `second_factor_required`.
Booking stays one-factor: only reads of health data are guarded.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler

SESSION_SECOND_FACTOR = "second_factor"
SECOND_FACTOR_PAGE = "/account/second-factor"
FOR_ROLES = "second_factor_roles"  # handler opt: the roles the page is for (others get the handler's own 404)
STAFF = {FOR_ROLES: ("practitioner", "secretary")}


class SecondFactorRequired(HTTPException):
    status_code = 403
    detail = "A second factor is required to see this."


def _session(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    session = connection.scope.get("session")
    return session if isinstance(session, dict) else {}


def page_second_factor(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The second factor this page session passed ("totp" or "email"), if any."""
    value = _session(connection).get(SESSION_SECOND_FACTOR)
    return str(value) if value in ("totp", "email") else None


async def require_second_factor(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard for handlers that read health data (appointment details, later documents and reports).

    Pages: `@get(..., guards=[require_second_factor], opt=STAFF)` for staff pages; a visitor, or a
    logged-in user of another role, goes on to the handler, which refuses them as before.
    """
    if connection.scope["path"].startswith("/api/"):
        from consulta.http.auth import api_token_second_factor

        if not await api_token_second_factor(connection):
            raise SecondFactorRequired()
        return
    from consulta.http.auth import page_actor

    actor = page_actor(connection)  # type: ignore[arg-type]
    roles = handler.opt.get(FOR_ROLES)
    if actor is None or (roles and actor.role not in roles):
        return  # not theirs anyway: the handler answers (log in, or 404) as it would without this guard
    if page_second_factor(connection) is None:
        raise SecondFactorRequired()


async def note_second_factor(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard that never refuses: records in `connection.state.second_factor` whether one passed.

    For lists that show health data only with a second factor and hide it otherwise.
    """
    if connection.scope["path"].startswith("/api/"):
        from consulta.http.auth import api_token_second_factor

        connection.state.second_factor = await api_token_second_factor(connection)
    else:
        connection.state.second_factor = page_second_factor(connection)


def second_factor_handler(request: Request[Any, Any, Any], error: SecondFactorRequired) -> Response[Any]:
    from urllib.parse import urlencode

    from consulta.http.errors import problem
    from consulta.http.pages_common import see_other

    if request.url.path.startswith("/api/"):
        return problem(
            403, "A second factor is required: log in again with your code.", "second_factor_required"
        )
    query = request.scope.get("query_string", b"").decode("latin-1")
    here = request.url.path + (f"?{query}" if query else "")
    if request.method != "GET":
        here = "/"
    return see_other(f"{SECOND_FACTOR_PAGE}?{urlencode({'next': here})}")
