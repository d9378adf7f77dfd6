"""The practitioner's side: open a teleconsultation, the live waiting room, admit, the call, the outcome."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.background_tasks import BackgroundTask
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from consulta.aggregates.errors import InvalidInputError
from consulta.http.pages_common import AnyRequest, now_of, page, see_other, services_of, staff_of, translate
from consulta.http.second_factor import STAFF, require_second_factor
from consulta.http.tele_media import media_grant
from consulta.projections.waiting_room import WaitingRoomQueries
from consulta.tele_invitation import deliver_invitation

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
GUARDS: dict[str, Any] = {"guards": [require_second_factor], "opt": STAFF}


class OpenForm(msgspec.Struct):
    appointment_id: str = ""
    profile_id: str = ""


class EndForm(msgspec.Struct):
    outcome: str


def rows(request: AnyRequest) -> list[dict[str, Any]]:
    actor = staff_of(request)
    return WaitingRoomQueries(services_of(request).reads).for_practitioner(actor.practitioner_id)  # type: ignore[arg-type]


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        raise InvalidInputError("not an id") from None


@get("/pro/tele", sync_to_thread=True, name="pro_tele", **GUARDS)
def dashboard(request: AnyRequest) -> Template:
    return page("pro_tele.html.j2", rows=rows(request), now=now_of(request))


@get("/pro/tele/rows", sync_to_thread=True, name="pro_tele_rows", **GUARDS)
def dashboard_rows(request: AnyRequest) -> Template:
    """The table body alone, fetched every few seconds by /static/tele.js."""
    return page("_pro_tele_rows.html.j2", rows=rows(request), now=now_of(request))


@post("/pro/tele/open", sync_to_thread=True, name="pro_tele_open", **GUARDS)
def open_consultation(request: AnyRequest, data: Annotated[OpenForm, Form]) -> Template:
    actor = staff_of(request)
    services = services_of(request)
    invitation = services.app.open_consultation(
        actor, now_of(request), appointment_id=_uuid(data.appointment_id), profile_id=_uuid(data.profile_id)
    )
    services.wait_for(invitation.position, ("waiting_room",))
    link = f"{services.settings.base_url}/tele/invite/{invitation.link_token}"
    send = BackgroundTask(deliver_invitation, services, invitation, link, now_of(request))
    template = page(
        "pro_tele_opened.html.j2",
        code=invitation.code,
        link=link,
        join_url=f"{services.settings.base_url}/join",
    )
    template.background = send
    return template


@post("/pro/tele/{consultation_id:uuid}/admit", sync_to_thread=True, name="pro_tele_admit", **GUARDS)
def admit(request: AnyRequest, consultation_id: FromPath[UUID]) -> Redirect:
    services = services_of(request)
    outcome = services.app.admit(staff_of(request), consultation_id, now_of(request))
    services.wait_for(outcome.position, ("waiting_room",))
    return see_other(f"/pro/tele/{consultation_id}/call")


@get("/pro/tele/{consultation_id:uuid}/call", sync_to_thread=True, name="pro_tele_call", **GUARDS)
def call_page(request: AnyRequest, consultation_id: FromPath[UUID]) -> Template:
    services_of(request).app.own_consultation(staff_of(request), consultation_id)
    return page(
        "tele_call.html.j2",
        side="practitioner",
        token_url=f"/pro/tele/{consultation_id}/media-token",
        left_url=f"/pro/tele/{consultation_id}/left",
        end_actions=True,
        consultation_id=consultation_id,
    )


@post(
    "/pro/tele/{consultation_id:uuid}/media-token", sync_to_thread=True, name="pro_tele_media_token", **GUARDS
)
def media_token(request: AnyRequest, consultation_id: FromPath[UUID]) -> Response[Any]:
    actor = staff_of(request)
    services_of(request).app.own_consultation(actor, consultation_id)
    services_of(request).app.record_presence(
        consultation_id, "practitioner", actor.account_id, True, now_of(request)
    )
    return Response(media_grant(request, str(consultation_id), str(actor.account_id), "practitioner"))


@post(
    "/pro/tele/{consultation_id:uuid}/left",
    sync_to_thread=True,
    name="pro_tele_left",
    status_code=204,
    **GUARDS,
)
def left(request: AnyRequest, consultation_id: FromPath[UUID]) -> None:
    actor = staff_of(request)
    services_of(request).app.own_consultation(actor, consultation_id)
    services_of(request).app.record_presence(
        consultation_id, "practitioner", actor.account_id, False, now_of(request)
    )


@post("/pro/tele/{consultation_id:uuid}/end", sync_to_thread=True, name="pro_tele_end", **GUARDS)
def end(
    request: AnyRequest, consultation_id: FromPath[UUID], data: Annotated[EndForm, Form]
) -> Template | Redirect:
    services = services_of(request)
    try:
        outcome = services.app.end_consultation(
            staff_of(request), consultation_id, data.outcome, now_of(request)
        )
    except InvalidInputError:
        message = translate(request, "A consultation is honoured only once the patient was admitted.")
        return page("tele_message.html.j2", 400, message=message)
    services.wait_for(outcome.position, ("waiting_room",))
    return see_other("/pro/tele")


HANDLERS: list[Any] = [dashboard, dashboard_rows, open_consultation, admit, call_page, media_token, left, end]
