"""What every page handler shares: rendering, redirects, sessions, parsing of form values.

Handlers stay thin: parse (a 400 page on malformed input, before any
command runs), one command, wait for the read models to reach its position,
303 to a page that reads them.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from litestar import MediaType, Request
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie
from litestar.exceptions import ClientException, NotFoundException
from litestar.response import Redirect, Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from consulta.application import Actor, Outcome
from consulta.http import i18n
from consulta.http.auth import login_session, page_actor
from consulta.projections.cached import CachedReads
from consulta.services import BOOKING_VIEWS, Services

AnyRequest = Request[Any, Any, Any]
SESSION_HOLD = "hold"


def services_of(request: AnyRequest) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def cached_reads(request: AnyRequest) -> CachedReads:
    """The process's cache of cards, agendas and free slots (consulta.projections.cached), made on first use."""
    state = request.app.state
    found = state.get("cached_reads")
    if found is None:
        services = services_of(request)
        found = state.cached_reads = CachedReads(services.reads, services.watcher)
    return found  # type: ignore[no-any-return]


# Stands for the page's own CSRF field in cached fragments (sessions differ, fragments do not).
CSRF_MARK = "\x00csrf-field\x00"


def template_engine(request: AnyRequest) -> Any:
    """The Jinja environment the app renders with (create_app always configures one)."""
    engine = request.app.template_engine
    assert engine is not None
    return engine.engine


def csrf_input(request: AnyRequest) -> str:
    """What Litestar gives templates as `csrf_input` (litestar.response.template), for cached fragments."""
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    return f'<input type="hidden" name="_csrf_token" value="{html.escape(token)}" />'


def now_of(request: AnyRequest) -> datetime:
    return services_of(request).clock.now()


def page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(f"pages/{template}", context=context, status_code=status, media_type=MediaType.HTML)


def see_other(url: str, background: BackgroundTask | None = None) -> Redirect:
    return Redirect(url, status_code=303, background=background)


def committed(request: AnyRequest, outcome: Outcome, url: str) -> Redirect:
    """After a command: wait until the pages' read models show it, then redirect."""
    services_of(request).wait_for(outcome.position, BOOKING_VIEWS)
    return see_other(url)


def translate(request: AnyRequest, message: str) -> str:
    return i18n.gettext_for(i18n.request_language(request))(message)


# -- who is calling -----------------------------------------------------------


def login_url(next_url: str) -> str:
    return "/login?" + urlencode({"next": next_url})


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a path of this site: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return quote(value, safe="/?&=:-_.~%+")


def patient_of(request: AnyRequest) -> Actor | None:
    actor = page_actor(request)
    return actor if actor is not None and actor.role == "patient" else None


def staff_of(request: AnyRequest) -> Actor:
    """The practitioner (or later a secretary) of an agenda page; others see nothing there."""
    actor = page_actor(request)
    if actor is None or actor.practitioner_id is None or not actor.is_staff:
        raise NotFoundException("page not found")
    return actor


def start_session(
    request: AnyRequest, actor: Actor, keep: dict[str, Any] | None = None
) -> BackgroundTask | None:
    """Log in on a fresh session id: the pre-login id (maybe planted) is dropped with its data.

    Returns the task that deletes the old session's data once the response is sent.
    """
    key = _session_key(request)
    old_id = request.cookies.get(key)
    request.cookies.pop(key, None)  # the same dict the session middleware reads the id from
    request.clear_session()
    request.set_session({**login_session(actor, now_of(request).timestamp()), **(keep or {})})
    if not old_id:
        return None
    return BackgroundTask(request.app.stores.get("sessions").delete, old_id)


def end_session(request: AnyRequest) -> None:
    request.clear_session()


def _session_key(request: AnyRequest) -> str:
    settings = request.app.state.settings
    return "session" if settings.is_dev else "__Host-session"


def _session(request: AnyRequest) -> dict[str, Any]:
    session = request.scope.get("session")
    return dict(session) if isinstance(session, dict) else {}


def session_value(request: AnyRequest, key: str) -> Any:
    return _session(request).get(key)


def update_session(request: AnyRequest, **values: Any) -> None:
    session = _session(request)
    for key, value in values.items():
        if value is None:
            session.pop(key, None)
        else:
            session[key] = value
    request.set_session(session)


def language_cookie(language: str) -> Cookie:
    return Cookie(key=i18n.LANGUAGE_COOKIE, value=language, max_age=365 * 24 * 3600, samesite="lax", path="/")


# -- parsing form and query values (400 before anything runs) ------------------


def bad_input(what: str) -> ClientException:
    return ClientException(f"Malformed {what}.")


def parse_uuid(value: str | None, what: str = "id") -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise bad_input(what) from None


def parse_day(value: str | None, default: date | None = None) -> date:
    if not value and default is not None:
        return default
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise bad_input("date") from None


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with its offset, as the pages write them."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input("time") from None
    if instant.tzinfo is None:
        raise bad_input("time")
    return instant.astimezone(UTC)


def slot_value(mode: str, starts_at: datetime) -> str:
    return f"{mode}|{starts_at.astimezone(UTC).isoformat()}"


def parse_slot(value: str) -> tuple[str, datetime]:
    """A chosen slot, written by the pages as `mode|instant`."""
    mode, sep, instant = value.partition("|")
    if not sep or mode not in ("practice", "video"):
        raise bad_input("slot")
    return mode, parse_instant(instant)


# Litestar 2.25: when a GET and a POST `sync_to_thread` handler share a path and
# return Response objects, the first one registered is wrapped twice and answers
# 500. Pages therefore give forms their own POST paths (/pro/blocks, not /pro/block).
