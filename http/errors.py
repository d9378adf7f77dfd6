"""One mapping from errors to responses: problem+json under /api, a page elsewhere.

Error answers never echo the request's data (no names, no reasons): only a
title and the rule that refused it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from consulta.aggregates import errors as domain

log = logging.getLogger("consulta.http")

STATUS_BY_ERROR: list[tuple[type[domain.DomainError], int]] = [
    (domain.NotFoundError, 404),  # includes ForbiddenError: a foreign object looks missing
    (domain.SlotTakenError, 409),
    (domain.EmailTakenError, 409),
    (domain.AppointmentClosedError, 409),
    (domain.BlockConflictError, 409),
    (domain.VideoCapReachedError, 409),
    (domain.AuthenticationError, 401),
    (domain.BusyError, 503),
    (domain.CancellationTooLateError, 422),
    (domain.TooEarlyError, 422),
    (domain.BookingWindowError, 422),
    (domain.SlotNotOfferedError, 422),
    (domain.MotifNotBookableError, 422),
    (domain.InvalidInputError, 422),
    (domain.DomainError, 422),
]

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Cannot be done",
    429: "Too many requests",
    500: "Server error",
    503: "Unavailable",
}


def status_of(error: domain.DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 422


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, detail: str, code: str | None = None, **extra: Any) -> Response[Any]:
    body: dict[str, Any] = {
        "type": f"https://consulta.invalid/problems/{code}" if code else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if code:
        body["code"] = code
    body.update(extra)
    return Response(body, status_code=status, media_type="application/problem+json")


def error_page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    return Template(
        "error.html.j2",
        context={"status": status, "title": TITLES.get(status, "Error"), "detail": detail},
        status_code=status,
        media_type=MediaType.HTML,
    )


# A missing aggregate is reported by its class name ("practitionermessage not found"), a foreign
# one by the noun its command chose ("message not found"): the same noun for both, or a caller
# could tell a foreign id from a missing one (tests/security/test_authorization_matrix.py).
NOUNS = {"practitionermessage": "message", "knownpatient": "patient", "agendaday": "agenda"}


def not_found_detail(detail: str) -> str:
    noun, _, rest = detail.partition(" ")
    return f"{NOUNS.get(noun, noun)} {rest}" if rest else detail


def domain_error_handler(request: Request[Any, Any, Any], error: domain.DomainError) -> Response[Any]:
    status = status_of(error)
    if isinstance(error, domain.NotFoundError):
        error.detail = not_found_detail(error.detail)
    extra: dict[str, Any] = {}
    if isinstance(error, domain.BlockConflictError):
        extra["appointment_ids"] = error.appointment_ids
    response = (
        problem(status, error.detail, error.code, **extra)
        if is_api(request)
        else error_page(request, status, error.detail)
    )
    if status == 503:
        response.headers["Retry-After"] = "1"
    return response


def http_error_handler(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    detail = error.detail if status < 500 else "Something went wrong on our side."
    if isinstance(error, ValidationException):
        fields = (
            [e for e in (error.extra or []) if isinstance(e, dict)] if isinstance(error.extra, list) else []
        )
        # Name the fields, never echo their values.
        names = ", ".join(sorted({str(e.get("key", "")) for e in fields if e.get("key")}))
        detail = f"The request is malformed ({names})." if names else "The request is malformed."
    if is_api(request):
        if isinstance(error, ValidationException):
            return api_validation_problem(error)
        return _with_headers(problem(status, detail), error)
    return _with_headers(error_page(request, status, detail), error)


_QUOTED = re.compile(r"'[^']*'")  # msgspec quotes offending values in single quotes
_NAMED_FIELD = re.compile(r"field `([^`]{1,100})`")


def api_validation_problem(error: ValidationException) -> Response[Any]:
    """422 naming each invalid field and its rule; the values themselves are never echoed."""
    errors: list[dict[str, str]] = []
    for item in error.extra if isinstance(error.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        name = str(item.get("key") or "")
        named = _NAMED_FIELD.search(message)
        if name in ("", "data"):  # the body as a whole, or a field msgspec names in its message
            name = named.group(1) if named else "body"
        reason = " ".join(_QUOTED.sub("", message).split()) or "is invalid"
        errors.append({"name": name or "body", "reason": reason})
    names = ", ".join(dict.fromkeys(e["name"] for e in errors))
    detail = f"Invalid value for: {names}." if names else "The request is invalid."
    return problem(422, detail, "invalid_fields", errors=errors)


def _with_headers(response: Response[Any], error: HTTPException) -> Response[Any]:
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


def internal_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    # The exception type only: its message may quote personal data.
    log.error(
        "unhandled %s on %s %s", type(error).__name__, request.method, request.scope.get("route_handler")
    )
    if is_api(request):
        return problem(500, "Something went wrong on our side.")
    return error_page(request, 500, "Something went wrong on our side.")


from consulta.http.second_factor import SecondFactorRequired, second_factor_handler  # noqa: E402

EXCEPTION_HANDLERS: dict[Any, Any] = {
    SecondFactorRequired: second_factor_handler,  # a redirect to the code step (pages), 403 (API)
    domain.DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
