"""Server-Sent Events for the live teleconsultation pages: the practitioner's dashboard and the patient's room.

One stream per page, its URL without any id (`/pro/tele/events`,
`/tele/events`): who is asking decides what is streamed, checked when the
stream opens (404 for anyone else, as for the pages) and again at every tick
(the session must still be in the store; a staff stream also stops at the
session's idle or absolute deadline as it stood at the opening, since a
stream is no activity). Then an `expired` event tells the page to reload,
which shows the login page. A client that does not ask for
`text/event-stream` gets a 406 instead of an endless answer.

The practitioner's stream sends the dashboard's table body (the same
template as the page) when it changes; the patient's sends where their page
should be (`{"next": "/tele/call"}`) and refreshes their presence.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from anyio import to_thread
from litestar import get
from litestar.exceptions import NotFoundException
from litestar.response import Response, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from consulta.application import Actor
from consulta.http.auth import SESSION_LOGIN_AT, session_limits
from consulta.http.pages_common import AnyRequest, csrf_input, now_of, services_of, staff_of, template_engine
from consulta.http.pages_tele import next_step, tele_of
from consulta.http.second_factor import STAFF, require_second_factor
from consulta.http.security import LOADED, _ended_at  # the same check as at each request
from consulta.http.tele_live import heartbeat, live_feed, present, tick_seconds
from consulta.projections.waiting_room import WaitingRoomQueries

RETRY_MS = 3000
LIVE = ("waiting", "admitted")  # rows whose patient should be showing a heartbeat


async def dashboard_rows(request: AnyRequest, actor: Actor) -> list[dict[str, Any]]:
    """The practitioner's open consultations, each with `connection`: here, lost, or None (not expected yet)."""
    queries = WaitingRoomQueries(services_of(request).reads)
    assert actor.practitioner_id is not None  # staff_of made sure
    rows = await to_thread.run_sync(queries.for_practitioner, actor.practitioner_id)
    here = await present(request, [r["consultation_id"] for r in rows if r["status"] in LIVE])
    for row in rows:
        expected = row["status"] in LIVE
        row["connection"] = ("here" if row["consultation_id"] in here else "lost") if expected else None
    return rows


def event_stream_only(request: AnyRequest) -> Response[Any] | None:
    if "text/event-stream" in request.headers.get("accept", ""):
        return None
    return Response("This address serves text/event-stream only.", status_code=406, media_type="text/plain")


async def session_alive(request: AnyRequest, deadline: float | None) -> bool:
    """Not past `deadline`, still in the store (no logout), and not ended since (end_all_sessions)."""
    if deadline is not None and now_of(request).timestamp() > deadline:
        return False
    session_id = request.scope.get(LOADED)  # type: ignore[call-overload]
    store = request.app.stores.get("sessions")
    if not session_id or await store.get(str(session_id)) is None:
        return False
    ended_at = await _ended_at(request.scope)
    login_at = request.session.get(SESSION_LOGIN_AT)
    return ended_at is None or (isinstance(login_at, int | float) and login_at > ended_at)


def staff_deadline(request: AnyRequest, actor: Actor) -> float:
    """The session's idle or absolute end as it stands now (+1 s: a reload after it finds the session over)."""
    idle, absolute = session_limits(actor, request.app.state.settings)
    now = now_of(request).timestamp()
    login_at = request.session.get(SESSION_LOGIN_AT) or now
    return min(now + idle, float(login_at) + absolute) + 1


async def wait_for_news(woken: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(woken.wait(), seconds)
    woken.clear()


async def _dashboard(
    request: AnyRequest, actor: Actor, deadline: float
) -> AsyncIterator[ServerSentEventMessage]:
    feed, tick = live_feed(request), tick_seconds(request.app)
    woken = feed.subscribe()
    template = template_engine(request).get_template("pages/_pro_tele_rows.html.j2")
    field, last = str(csrf_input(request)), ""
    try:
        yield ServerSentEventMessage(data=None, comment="open", retry=RETRY_MS)
        while await session_alive(request, deadline):
            rows = await dashboard_rows(request, actor)
            html = template.render(rows=rows, now=now_of(request), request=request, csrf_input=field)
            if html != last:
                yield ServerSentEventMessage(data=html, event="rows")
                last = html
            else:
                yield ServerSentEventMessage(data=None, comment="alive")
            await wait_for_news(woken, tick)
        yield ServerSentEventMessage(data="", event="expired")
    finally:
        feed.unsubscribe(woken)


async def _patient(request: AnyRequest, consultation_id: UUID) -> AsyncIterator[ServerSentEventMessage]:
    feed, tick = live_feed(request), tick_seconds(request.app)
    woken = feed.subscribe()
    queries = WaitingRoomQueries(services_of(request).reads)
    last = ""
    try:
        yield ServerSentEventMessage(data=None, comment="open", retry=RETRY_MS)
        while await session_alive(request, None):
            await heartbeat(request, consultation_id)
            row = await to_thread.run_sync(queries.one, consultation_id)
            status = row["status"] if row else "waiting"
            where = {"ended": "/tele/ended", "admitted": "/tele/call"}.get(status, "/tele/waiting")
            state = json.dumps({"next": where, "here": True})
            if state != last:
                yield ServerSentEventMessage(data=state, event="status")
                last = state
            else:
                yield ServerSentEventMessage(data=None, comment="alive")
            if where == "/tele/ended":
                return
            await wait_for_news(woken, tick)
        yield ServerSentEventMessage(data="", event="expired")
    finally:
        feed.unsubscribe(woken)


@get("/pro/tele/events", name="pro_tele_events", guards=[require_second_factor], opt=STAFF)
async def practitioner_events(request: AnyRequest) -> Response[Any]:
    """The dashboard's rows, pushed when the waiting room changes or a patient's presence lapses."""
    actor = await to_thread.run_sync(staff_of, request)
    refused = event_stream_only(request)
    if refused is not None:
        return refused
    return ServerSentEvent(_dashboard(request, actor, staff_deadline(request, actor)))


@get("/tele/events", name="tele_events")
async def patient_events(request: AnyRequest) -> Response[Any]:
    """Where the patient's page should be; only for the consultation this browser was let into, once in the room."""
    consultation = await to_thread.run_sync(tele_of, request)
    if next_step(consultation) not in ("/tele/waiting", "/tele/call"):
        raise NotFoundException("page not found")
    refused = event_stream_only(request)
    if refused is not None:
        return refused
    return ServerSentEvent(_patient(request, consultation.id))


HANDLERS: list[Any] = [practitioner_events, patient_events]
