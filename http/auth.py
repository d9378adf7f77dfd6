"""Who is calling: a page session (cookie) or an API bearer token.

Both resolve to an `Actor`. Sessions live server-side (Redis, or memory in
`consulta dev`); API tokens are random, stored only as their SHA-256 in the
same store, with an expiry.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.exceptions import NotAuthorizedException
from litestar.stores.base import Store

from consulta.application import Actor

SESSION_ACTOR = "actor"
SESSION_LOGIN_AT = "login_at"  # POSIX seconds of the login: the absolute timeout counts from it
SESSION_SEEN_AT = "seen_at"  # POSIX seconds of the last request: the idle timeout counts from it

# Staff (practitioners, secretaries) read many patients' data: shorter sessions.
STAFF_IDLE_SECONDS = 15 * 60
ABSOLUTE_SECONDS = {"patient": 12 * 3600, "staff": 8 * 3600}


def login_session(actor: Actor, now: float) -> dict[str, Any]:
    """The session data of a fresh login (pages_common.start_session stores it under a new id)."""
    return {SESSION_ACTOR: actor_to_session(actor), SESSION_LOGIN_AT: now, SESSION_SEEN_AT: now}


def session_limits(actor: Actor | None, settings: Any) -> tuple[int, int]:
    """(idle, absolute) timeouts in seconds for this actor."""
    idle = settings.session_idle_minutes * 60
    if actor is not None and actor.is_staff:
        return min(idle, STAFF_IDLE_SECONDS), ABSOLUTE_SECONDS["staff"]
    return idle, ABSOLUTE_SECONDS["patient"]


def session_expired(session: dict[str, Any], now: float, settings: Any) -> bool:
    """A logged-in session past its idle or absolute timeout, or without its login time (never issued so)."""
    if not session.get(SESSION_ACTOR):
        return False
    actor = actor_from_mapping(session.get(SESSION_ACTOR))
    login_at, seen_at = session.get(SESSION_LOGIN_AT), session.get(SESSION_SEEN_AT)
    if actor is None or not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return True
    idle, absolute = session_limits(actor, settings)
    return now - seen_at > idle or now - login_at > absolute or now < login_at - 60


def session_touched(session: dict[str, Any], now: float) -> None:
    if session.get(SESSION_ACTOR):
        session[SESSION_SEEN_AT] = now


def actor_to_session(actor: Actor) -> dict[str, Any]:
    return {
        "account_id": str(actor.account_id),
        "role": actor.role,
        "practitioner_id": str(actor.practitioner_id) if actor.practitioner_id else None,
    }


def actor_from_mapping(data: dict[str, Any] | None) -> Actor | None:
    if not data:
        return None
    try:
        practitioner = data.get("practitioner_id")
        return Actor(
            UUID(data["account_id"]), str(data["role"]), UUID(practitioner) if practitioner else None
        )
    except (KeyError, ValueError, TypeError):
        return None


def page_actor(request: Request[Any, Any, Any]) -> Actor | None:
    """The logged-in actor of a page request, or None.

    A secretary's agenda is checked live (its `Grant` aggregate, once per
    request): a grant revoked mid-session leaves them no agenda at once.
    """
    if "consulta_actor" in request.scope:
        return request.scope["consulta_actor"]  # type: ignore[typeddict-item,no-any-return]
    session = request.scope.get("session")
    if not isinstance(session, dict):  # none, or cleared (logout) earlier in this request
        session = {}
    actor = live_actor(request, actor_from_mapping(session.get(SESSION_ACTOR)))
    request.scope["consulta_actor"] = actor  # type: ignore[typeddict-unknown-key]
    return actor


def live_actor(request: Any, actor: Actor | None) -> Actor | None:
    """The actor with its secretary grant checked against the event store now."""
    if actor is None or actor.role != "secretary" or actor.practitioner_id is None:
        return actor
    if request.app.state.services.app.is_granted(actor.account_id, actor.practitioner_id):
        return actor
    return Actor(actor.account_id, "secretary", None)


class ApiTokens:
    def __init__(self, store: Store, lifetime_seconds: int) -> None:
        self.store = store
        self.lifetime = lifetime_seconds

    @staticmethod
    def _key(token: str) -> str:
        return "api-token:" + hashlib.sha256(token.encode()).hexdigest()

    async def issue(self, actor: Actor, second_factor: str | None = None) -> str:
        """`second_factor`: the method that passed at login; reads of health data need one."""
        token = secrets.token_urlsafe(32)
        data = {**actor_to_session(actor), "second_factor": second_factor, "issued_at": time.time()}
        await self.store.set(self._key(token), msgspec.json.encode(data), self.lifetime)
        return token

    async def end_all(self, account_id: Any) -> None:
        """Every token of this account issued until now stops working (security.end_all_sessions)."""
        await self.store.set(f"tokens-ended:{account_id}", str(time.time()).encode(), self.lifetime)

    async def second_factor(self, token: str) -> str | None:
        if not token or len(token) > 200:
            return None
        raw = await self.store.get(self._key(token))
        value = msgspec.json.decode(raw).get("second_factor") if raw else None
        return str(value) if value in ("totp", "email") else None

    async def resolve(self, token: str) -> Actor | None:
        if not token or len(token) > 200:
            return None
        raw = await self.store.get(self._key(token))
        data = msgspec.json.decode(raw) if raw else None
        if not isinstance(data, dict):
            return None
        ended = await self.store.get(f"tokens-ended:{data.get('account_id')}")
        if ended and float(data.get("issued_at") or 0) <= float(ended):
            return None
        return actor_from_mapping(data)

    async def revoke(self, token: str) -> None:
        await self.store.delete(self._key(token))


async def api_actor(request: Request[Any, Any, Any]) -> Actor:
    """The actor of an API request; 401 without a valid bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    actor = None
    if scheme.lower() == "bearer":
        actor = await request.app.state.api_tokens.resolve(token.strip())
    if actor is None:
        raise NotAuthorizedException(
            "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return actor


def bearer_token(connection: Any) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def api_token_second_factor(connection: Any) -> str | None:
    """The second factor the request's bearer token was issued with, if any."""
    return await connection.app.state.api_tokens.second_factor(bearer_token(connection))  # type: ignore[no-any-return]
