"""The practitioner's side: open a teleconsultation, the live waiting room, admit, the call, the outcome."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template

from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.http.pages_common import AnyRequest, now_of, page, see_other, services_of, staff_of, translate
from consulta.http.pages_tele_new import MALFORMED, UNKNOWN_PATIENT, new_page
from consulta.http.second_factor import STAFF, require_second_factor
from consulta.http.tele_media import media_grant
from consulta.http.tele_stream import dashboard_rows
from consulta.tele_invitation import invitation_sealer

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
GUARDS: dict[str, Any] = {"guards": [require_second_factor], "opt": STAFF}


class OpenForm(msgspec.Struct):
    appointment_id: str = ""
    profile_id: str = ""


class EndForm(msgspec.Struct):
    outcome: str


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        raise InvalidInputError("not an id") from None


@get("/pro/tele", name="pro_tele", **GUARDS)
async def dashboard(request: AnyRequest) -> Template:
    """Who waits and since when; /static/tele.js then follows /pro/tele/events (tele_stream) to keep it live."""
    actor = await to_thread.run_sync(staff_of, request)
    rows = await dashboard_rows(request, actor)
    return page("pro_tele.html.j2", rows=rows, now=now_of(request), may_open=actor.role == "practitioner")


@post("/pro/tele/open", sync_to_thread=True, name="pro_tele_open", **GUARDS)
def open_consultation(request: AnyRequest, data: Annotated[OpenForm, Form]) -> Template:
    """Shows the code and link once; the notifications pipeline sends the invitation (consulta.tele_invitation)."""
    actor = staff_of(request)
    services = services_of(request)
    seal = invitation_sealer(services.settings)
    if data.profile_id and not data.appointment_id:  # the ad-hoc page: its refusals say why, on that page
        try:
            invitation = services.app.open_consultation(
                actor, now_of(request), profile_id=_uuid(data.profile_id), seal=seal
            )
        except InvalidInputError:
            return new_page(request, status=400, error=MALFORMED)
        except ForbiddenError:
            return new_page(request, status=404, error=UNKNOWN_PATIENT)
    else:
        invitation = services.app.open_consultation(
            actor, now_of(request), appointment_id=_uuid(data.appointment_id), seal=seal
        )
    services.wait_for(invitation.position, ("waiting_room",))
    return page(
        "pro_tele_opened.html.j2",
        code=invitation.code,
        link=f"{services.settings.base_url}/tele/invite/{invitation.link_token}",
        join_url=f"{services.settings.base_url}/join",
    )


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


HANDLERS: list[Any] = [dashboard, open_consultation, admit, call_page, media_token, left, end]
