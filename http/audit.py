"""Recording accesses: every read of health data and every refusal, in the append-only access log.

What a request read is found from the route itself: a successful GET on a
route that takes the id of private data (`PRIVATE_IDS`: appointments,
profiles, messages, documents, reports) reads that object, whose patient the
log names; a route of `LIST_READS` (agenda views, appointment lists) reads a
list, recorded as ONE row naming every profile shown (`profile_ids`). New routes are covered by their parameter names. A handler that shows
other health data calls `note_read(request, kind, object_id, subject_profile)`.
`AuditMiddleware` writes the rows once the answer's status is known and
before it leaves (a failed write answers 503 instead: nothing unrecorded goes
out), as `read` when it succeeded and `refused` otherwise. A refusal (401, 403, 404) on a route
that takes such an id is recorded naming whose data it was when the id
exists: the patient's page then shows who tried. Any other 403 is recorded
too. Rows hold ids, roles, the route name and the
outcome, never the data (projections/audit_log.py).
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from anyio import to_thread
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from consulta.application import Actor
from consulta.http.auth import SESSION_ACTOR, actor_from_mapping
from consulta.projections import audit_log

log = logging.getLogger("consulta.audit")

NOTES = "consulta.audit_notes"
PRIVATE_IDS = {
    "appointment_id": "appointment",
    "profile_id": "profile",
    "message_id": "message",
    "document_id": "document",
    "report_id": "report",
}
REFUSALS = {401, 403, 404}
# Pages and API answers that list health data of several patients or profiles (one row per view,
# naming in profile_ids every profile the handler noted).
LIST_READS = {
    "pro_day": "agenda",
    "pro_week": "agenda",
    "my_appointments": "appointments",
    "api:my_appointments": "appointments",
    "api:practitioner_agenda": "agenda",
}


def note_read(request: Any, kind: str, object_id: UUID | None, subject_profile: UUID | None) -> None:
    """Say that this request shows health data of `subject_profile` (one note per object shown)."""
    request.scope.setdefault(NOTES, []).append((kind, object_id, subject_profile))


def _actor(scope: Scope) -> Actor | None:
    if scope.get("consulta_actor") is not None:  # type: ignore[comparison-overlap]
        return scope["consulta_actor"]  # type: ignore[typeddict-item,no-any-return]
    api = (scope.get("state") or {}).get("api_actor")
    if isinstance(api, Actor):
        return api
    session = scope.get("session")
    return actor_from_mapping(session.get(SESSION_ACTOR)) if isinstance(session, dict) else None


def _action(scope: Scope) -> str:
    """The route's name (`pro_appointment`, `api:my_appointment`): what was done, never with its values."""
    handler = scope.get("route_handler")
    name = getattr(handler, "name", None) or getattr(handler, "handler_name", None) or "unknown"
    return ("api:" if scope.get("path", "").startswith("/api/") else "") + str(name)[:200]


def _subject_of(services: Any, kind: str, object_id: UUID) -> UUID | None:
    """Whose data an id names, when it exists (a refusal is then shown to that patient)."""
    if kind == "profile":
        return object_id
    if kind == "appointment":
        rows = services.reads._q("SELECT profile_id FROM {agenda_appointments} WHERE id = %s", (object_id,))
        return rows[0]["profile_id"] if rows else None
    return None


def _notes(scope: Scope, status: int, actor: Actor | None) -> list[tuple[str, UUID | None, UUID | None]]:
    """What this request read or was refused, from the route itself when the handler noted nothing."""
    notes: list[tuple[str, UUID | None, UUID | None]] = list(scope.get(NOTES, []))  # type: ignore[call-overload]
    if notes:
        return notes
    services = scope["app"].state.services
    params: dict[str, Any] = dict(scope.get("path_params") or {})
    private: list[tuple[str, UUID]] = [
        (PRIVATE_IDS[param], value)
        for param, value in params.items()
        if param in PRIVATE_IDS and isinstance(value, UUID)
    ]
    read = status < 300 and scope.get("method") == "GET"
    if private and (read or status in REFUSALS):
        return [(kind, value, _subject_of(services, kind, value)) for kind, value in private]
    if read and _action(scope) in LIST_READS:
        return [(LIST_READS[_action(scope)], actor.practitioner_id if actor else None, None)]
    if status == 403:
        return [("page", None, None)]
    return []


def _rows(scope: Scope, status: int) -> list[dict[str, Any]]:
    actor = _actor(scope)
    notes = _notes(scope, status, actor)
    if not notes:
        return []
    now = scope["app"].state.services.clock.now()
    refused = status >= 400
    action = _action(scope)
    if not refused and action in LIST_READS and scope.get(NOTES):
        # A listing is one row naming every profile it showed (the patients' pages find it by profile_ids).
        shown = sorted({subject for _kind, _id, subject in notes if subject is not None}, key=str)
        notes, profile_ids = [(LIST_READS[action], actor.practitioner_id if actor else None, None)], shown
    else:
        profile_ids = None
    return [
        {
            "at": now,
            "actor_account": actor.account_id if actor else None,
            "actor_role": actor.role if actor else "anonymous",
            "actor_practitioner": actor.practitioner_id if actor else None,
            "action": _action(scope),
            "object_kind": kind,
            "object_id": object_id,
            "subject_profile": subject,
            "outcome": "refused" if refused else "read",
            "status": status,
            "profile_ids": profile_ids,
        }
        for kind, object_id, subject in notes
    ]


def _may_record(scope: Scope, status: int) -> bool:
    """Cheap, in the event loop: whether this answer can give a row (the thread hop is skipped otherwise)."""
    if scope.get(NOTES) or status == 403:  # type: ignore[call-overload]
        return True
    if any(param in PRIVATE_IDS for param in scope.get("path_params") or {}):
        return True
    return status < 300 and _action(scope) in LIST_READS


def write(services: Any, scope: Scope, status: int) -> None:
    rows = _rows(scope, status)
    if rows:
        with services.reads.pool.connection() as conn:
            audit_log.append(conn, rows)


class AuditMiddleware:
    """Writes the rows before the answer leaves: no health data goes out unrecorded (503 if the log fails)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        failed = [False]

        async def send_after_recording(message: Message) -> None:
            if message["type"] == "http.response.start" and _may_record(scope, int(message["status"])):
                try:
                    await to_thread.run_sync(
                        write, scope["app"].state.services, scope, int(message["status"])
                    )
                except Exception as error:
                    log.error("access log write failed: %s", type(error).__name__)
                    failed[0] = True
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 503,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                        }
                    )
                    await send(
                        {"type": "http.response.body", "body": b"Service unavailable.", "more_body": False}
                    )
                    return
            if not failed[0]:
                await send(message)

        await self.app(scope, receive, send_after_recording)
