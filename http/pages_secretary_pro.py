"""The practitioner's side of tele-secretaries: grant and revoke access, read and close messages."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from consulta.aggregates.errors import DomainError, NotFoundError
from consulta.application import Actor
from consulta.http.pages_common import AnyRequest, now_of, page, see_other, services_of, staff_of, translate
from consulta.projections.account_views import AccountReads

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


class GrantForm(msgspec.Struct):
    email: str


def practitioner_of(request: AnyRequest) -> Actor:
    actor = staff_of(request)
    if actor.role != "practitioner":
        raise NotFoundException("page not found")
    return actor


def _secretaries_page(
    request: AnyRequest, actor: Actor, status: int = 200, error: str | None = None, done: str = ""
) -> Template:
    rows = AccountReads(services_of(request).reads).secretaries_of(actor.practitioner_id)  # type: ignore[arg-type]
    return page("pro_secretaries.html.j2", status, secretaries=rows, error=error, done=done)


@get("/pro/secretaries", sync_to_thread=True, name="pro_secretaries")
def secretaries(request: AnyRequest, done: FromQuery[str] = "") -> Template:
    return _secretaries_page(request, practitioner_of(request), done=done[:20])


@post("/pro/secretaries/grant", sync_to_thread=True, name="pro_grant_secretary")
def grant(request: AnyRequest, data: Annotated[GrantForm, Form]) -> Template | Redirect:
    actor = practitioner_of(request)
    services = services_of(request)
    try:
        outcome = services.app.grant_secretary(actor, data.email[:320], now_of(request))
    except NotFoundError:
        return _secretaries_page(
            request, actor, 404, translate(request, "No secretariat account uses this e-mail.")
        )
    except DomainError:
        return _secretaries_page(
            request, actor, 422, translate(request, "No secretariat account uses this e-mail.")
        )
    services.wait_for(outcome.position, ("secretaries",))
    return see_other("/pro/secretaries?done=granted")


@post("/pro/secretaries/{secretary_id:uuid}/revoke", sync_to_thread=True, name="pro_revoke_secretary")
def revoke(request: AnyRequest, secretary_id: FromPath[UUID]) -> Redirect:
    actor = practitioner_of(request)
    services = services_of(request)
    outcome = services.app.revoke_secretary(actor, secretary_id, now_of(request))
    services.wait_for(outcome.position, ("secretaries",))
    return see_other("/pro/secretaries?done=revoked")


@get("/pro/inbox", sync_to_thread=True, name="pro_inbox")
def inbox(request: AnyRequest) -> Template:
    actor = practitioner_of(request)
    messages = AccountReads(services_of(request).reads).inbox(actor.practitioner_id)  # type: ignore[arg-type]
    return page("pro_inbox.html.j2", messages=messages)


@post("/pro/inbox/{message_id:uuid}/done", sync_to_thread=True, name="pro_message_done")
def message_done(request: AnyRequest, message_id: FromPath[UUID]) -> Redirect:
    actor = practitioner_of(request)
    services = services_of(request)
    outcome = services.app.mark_message_done(actor, message_id, now_of(request))
    services.wait_for(outcome.position, ("secretaries",))
    return see_other("/pro/inbox")


HANDLERS = [secretaries, grant, revoke, inbox, message_done]
