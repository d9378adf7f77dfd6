"""Security of every response and every session: headers, session timeouts, session ids.

`SessionTimeoutMiddleware` runs inside the session middleware: it ends
sessions past their idle or absolute timeout (shorter for staff) before any
handler reads them. `add_security_headers` (a `before_send` hook, so that
even the router's 404s get them) adds the security headers to every answer.

`ConsultaSessionConfig` replaces Litestar's server-side session backend so
that a session id the server did not issue is never adopted (a planted or
expired id is replaced by a fresh random one), and a visitor with nothing in
the session gets neither a cookie nor a store entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.dataclass import extract_dataclass_items

from consulta.http.auth import (
    ABSOLUTE_SECONDS,
    SESSION_ACTOR,
    SESSION_LOGIN_AT,
    session_expired,
    session_touched,
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
}

LOADED = "consulta.session_loaded"  # scope key: the session id came from the store


def may_cache(path: str) -> bool:
    """Only the static files: every page or API answer may carry personal data (no-store)."""
    return path.startswith("/static/")


class SessionTimeoutMiddleware:
    """Inside the session middleware: a session past its timeouts is ended before any handler reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _enforce_timeouts(scope, await _ended_at(scope))
        await self.app(scope, receive, send)


def _ended_key(account_id: Any) -> str:
    return f"sessions-ended:{account_id}"


async def end_all_sessions(app: Any, account_id: Any, now: float) -> None:
    """Every session (and API token) of this account begun before `now` ends at its next request (password reset,
    hand-over, a stolen device): call it from the command's handler. Kept for the longest session's life."""
    await end_sessions_in(app.stores.get("sessions"), app.state.api_tokens, account_id, now)


async def end_sessions_in(sessions: Any, api_tokens: Any, account_id: Any, now: float) -> None:
    """The same, given the stores (`consulta account reset-second-factor` builds them from REDIS_URL)."""
    await sessions.set(_ended_key(account_id), str(now).encode(), expires_in=ABSOLUTE_SECONDS["patient"] + 3600)
    await api_tokens.end_all(account_id)


async def _ended_at(scope: Scope) -> float | None:
    """When this session's account last had all its sessions ended, if ever (one store read)."""
    session = scope.get("session")
    actor = session.get(SESSION_ACTOR) if isinstance(session, dict) else None
    if not isinstance(actor, dict) or not actor.get("account_id"):
        return None
    raw = await scope["app"].stores.get("sessions").get(_ended_key(actor["account_id"]))
    return float(raw) if raw else None


async def add_security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook: runs for every answer, router 404s and CSRF refusals included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    if not may_cache(scope.get("path", "")):
        headers["cache-control"] = "no-store"
        headers["pragma"] = "no-cache"


def _enforce_timeouts(scope: Scope, ended_at: float | None = None) -> None:
    """End a session past its idle or absolute timeout, or begun before `ended_at`; else note this request."""
    session = scope.get("session")
    if not isinstance(session, dict) or not session:
        return
    app = scope["app"]
    now = app.state.services.clock.now().timestamp()
    login_at = session.get(SESSION_LOGIN_AT)
    ended = ended_at is not None and (not isinstance(login_at, int | float) or login_at <= ended_at)
    if ended or session_expired(session, now, app.state.settings):
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        connection.cookies.pop(_cookie_key(app), None)  # anything stored later gets a fresh id
        connection.clear_session()
        scope["session"] = {}
        return
    session_touched(session, now)


def _cookie_key(app: Any) -> str:
    return "session" if app.state.settings.is_dev else "__Host-session"


class ConsultaSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session_id = connection.cookies.get(self.config.key)
        if session_id:
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(session_id, store=store)
            if data is not None:
                connection.scope[LOADED] = session_id  # type: ignore[literal-required]
                return self.deserialize_data(data)
            connection.cookies.pop(self.config.key, None)  # unknown id: never adopt it
        return {}

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        loaded: str | None = connection.scope.get(LOADED)  # type: ignore[call-overload,assignment]
        current = connection.cookies.get(self.config.key)  # gone when the id was renewed (login, expiry)
        if loaded and current != loaded:
            await self.delete(loaded, store=self.config.get_store_from_app(connection.scope["app"]))
        if not isinstance(scope_session, dict) or not scope_session:
            if loaded:  # logged out or expired: no data is kept, the browser forgets the id
                if current == loaded:
                    await self.delete(
                        str(loaded), store=self.config.get_store_from_app(connection.scope["app"])
                    )
                params = dict(
                    extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
                )
                cookie = Cookie(value="null", key=self.config.key, expires=0, **params)
                MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))
            return  # nothing to keep: no cookie, no store entry
        await super().store_in_message(scope_session, message, connection)


@dataclass
class ConsultaSessionConfig(ServerSideSessionConfig):
    _backend_class = ConsultaSessionBackend  # type: ignore[assignment]


def session_config(secure: bool, idle_seconds: int) -> ConsultaSessionConfig:
    """Litestar's defaults overridden: `__Host-` cookie, Secure, HttpOnly, SameSite, 256-bit ids, idle expiry."""
    return ConsultaSessionConfig(
        key="__Host-session" if secure else "session",
        secure=secure,
        httponly=True,
        samesite="lax",  # a link from an e-mail opens the page logged in; forms carry CSRF tokens
        path="/",
        domain=None,  # __Host- cookies have no Domain
        max_age=idle_seconds,
        renew_on_access=True,
        session_id_bytes=32,
    )
