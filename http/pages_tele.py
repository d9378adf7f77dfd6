"""The patient's side of a teleconsultation: join by link or code, identity, consent, waiting room, call.

The invitation link opens a page whose button (a POST: a GET never changes
anything) exchanges the token once for a session entry
(`session["tele"]`, the consultation id) and the browser is redirected to a
URL without it. A code alone reaches only the waiting room: the practitioner
admits. Code attempts count per client address in the shared store
(security_attempts), so the limits hold across web processes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from consulta.aggregates.consultation import ADMITTED, ENDED, Consultation, ConsultationAccessError
from consulta.aggregates.errors import DomainError
from consulta.http.pages_common import AnyRequest, now_of, page, see_other, services_of, translate
from consulta.http.security_attempts import attempt_allowed, attempt_failed
from consulta.http.tele_live import heartbeat
from consulta.http.tele_media import media_grant

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
SESSION_TELE = "tele"


class CodeForm(msgspec.Struct):
    code: str


class IdentityForm(msgspec.Struct):
    first_name: str
    last_name: str
    birth_date: str


class ConsentForm(msgspec.Struct):
    consent: str = ""


def tele_of(request: AnyRequest) -> Consultation:
    """The consultation this browser was let into (by link or code), or a 404."""
    value = request.session.get(SESSION_TELE) if request.session else None
    try:
        return services_of(request).app.get_consultation(UUID(str(value)))
    except (ValueError, DomainError):
        raise NotFoundException("page not found") from None


def enter(request: AnyRequest, consultation_id: UUID) -> Redirect:
    request.set_session({**(request.session or {}), SESSION_TELE: str(consultation_id)})
    return see_other("/tele/identity")


def next_step(consultation: Consultation) -> str:
    if consultation.status == ENDED:
        return "/tele/ended"
    if consultation.checked_in_at is None:
        return "/tele/identity"
    if consultation.consented_at is None:
        return "/tele/consent"
    return "/tele/call" if consultation.status == ADMITTED else "/tele/waiting"


@get("/join", sync_to_thread=False, name="tele_join")
def join_page(request: AnyRequest) -> Template:
    return page("tele_join.html.j2", error=None)


@post("/join/code", name="tele_join_code")
async def join_by_code(request: AnyRequest, data: Annotated[CodeForm, Form]) -> Template | Redirect:
    address = f"address:{request.client.host if request.client else 'unknown'}"
    wait = await attempt_allowed(request, "tele-code", address)
    if wait is not None:
        refused = page(
            "tele_join.html.j2",
            429,
            error=translate(request, "Too many attempts: wait a few minutes, then try again."),
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    try:
        consultation_id = await to_thread.run_sync(
            services_of(request).app.find_by_code, data.code[:40], now_of(request)
        )
    except (ConsultationAccessError, DomainError):
        await attempt_failed(request, "tele-code", address)
        message = "This code is not valid now. It opens 15 minutes before the appointment."
        return page("tele_join.html.j2", 400, error=translate(request, message))
    return enter(request, consultation_id)


@get("/tele/invite/{token:str}", sync_to_thread=False, name="tele_invite")
def invitation_page(token: FromPath[str]) -> Template:
    """A page with one button: a GET never uses the single-use link (mail scanners and prefetchers open links)."""
    return page("tele_invite.html.j2", token=token[:100])


@post("/tele/invite/{token:str}/use", sync_to_thread=True, name="tele_invite_use")
def invitation_link(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    try:
        outcome = services_of(request).app.use_invitation_link(token, now_of(request))
    except DomainError:
        return page(
            "tele_message.html.j2",
            410,
            message=translate(
                request,
                "This invitation link was already used or is no longer valid. Type your access code at /join instead.",
            ),
        )
    return enter(request, outcome.id)


@get("/tele/identity", sync_to_thread=True, name="tele_identity")
def identity_page(request: AnyRequest) -> Template | Redirect:
    consultation = tele_of(request)
    if consultation.checked_in_at is not None:
        return see_other(next_step(consultation))
    return page("tele_identity.html.j2", error=None)


@post("/tele/identity/check", sync_to_thread=True, name="tele_identity_check")
def identity_check(request: AnyRequest, data: Annotated[IdentityForm, Form]) -> Template | Redirect:
    consultation = tele_of(request)
    try:
        birth = date.fromisoformat(data.birth_date.strip())
    except ValueError:
        return page(
            "tele_identity.html.j2", 400, error=translate(request, "Give your birth date as on the form.")
        )
    try:
        services_of(request).app.check_in(
            consultation.id, data.first_name[:100], data.last_name[:100], birth, now_of(request)
        )
    except DomainError:
        message = "These details do not match the appointment. After 5 attempts, call the practice."
        return page("tele_identity.html.j2", 400, error=translate(request, message))
    return see_other("/tele/consent")


@get("/tele/consent", sync_to_thread=True, name="tele_consent")
def consent_page(request: AnyRequest) -> Template | Redirect:
    consultation = tele_of(request)
    if consultation.checked_in_at is None or consultation.consented_at is not None:
        return see_other(next_step(consultation))
    return page("tele_consent.html.j2", error=None)


@post("/tele/consent/record", name="tele_consent_record")
async def consent_record(request: AnyRequest, data: Annotated[ConsentForm, Form]) -> Template | Redirect:
    consultation = await to_thread.run_sync(tele_of, request)
    if data.consent != "yes":
        return page(
            "tele_consent.html.j2", 400, error=translate(request, "Tick the box to give your consent.")
        )
    services = services_of(request)
    await heartbeat(request, consultation.id)  # present from the moment the dashboard shows them waiting
    outcome = await to_thread.run_sync(services.app.record_consent, consultation.id, now_of(request))
    await to_thread.run_sync(services.wait_for, outcome.position, ("waiting_room",))
    return see_other("/tele/waiting")


@get("/tele/waiting", name="tele_waiting")
async def waiting_page(request: AnyRequest) -> Template | Redirect:
    """Live through /tele/events (tele_stream); without JavaScript it reloads itself every 15 s."""
    consultation = await to_thread.run_sync(tele_of, request)
    if next_step(consultation) != "/tele/waiting":
        return see_other(next_step(consultation))
    await heartbeat(request, consultation.id)  # the page's load is a sign of life too
    return page("tele_waiting.html.j2", consultation=consultation)


@get("/tele/selftest", name="tele_selftest")
async def selftest_page(request: AnyRequest) -> Template:
    """From the waiting room, the patient stays present (and moves to the call if admitted meanwhile)."""
    consultation = await to_thread.run_sync(tele_of, request)
    live = next_step(consultation) == "/tele/waiting"
    if live:
        await heartbeat(request, consultation.id)
    return page("tele_selftest.html.j2", live=live)


@get("/tele/call", name="tele_call")
async def call_page(request: AnyRequest) -> Template | Redirect:
    consultation = await to_thread.run_sync(tele_of, request)
    if consultation.status != ADMITTED:
        return see_other(next_step(consultation))
    await heartbeat(request, consultation.id)
    return page(
        "tele_call.html.j2",
        side="patient",
        token_url="/tele/media-token",  # noqa: S106  (a URL, not a secret)
        left_url="/tele/left",
        end_actions=False,
    )


@post("/tele/media-token", sync_to_thread=True, name="tele_media_token")
def patient_media_token(request: AnyRequest, purpose: FromQuery[str] = "call") -> Response[Any]:
    """A room token for the call (once admitted) or for the self-test; the join is recorded."""
    consultation = tele_of(request)
    participant = str(consultation.profile_id)
    if purpose == "selftest":
        return Response(
            media_grant(request, f"selftest:{consultation.id}:{participant}", participant, "selftest")
        )
    try:
        services_of(request).app.record_presence(
            consultation.id, "patient", consultation.profile_id, True, now_of(request)
        )
    except DomainError:
        return Response({"error": "not admitted"}, status_code=409)
    return Response(media_grant(request, str(consultation.id), participant, "patient"))


@post("/tele/left", sync_to_thread=True, name="tele_left", status_code=204)
def patient_left(request: AnyRequest) -> None:
    """Sent by the call page (a beacon) when the patient leaves or closes it."""
    consultation = tele_of(request)
    services_of(request).app.record_presence(
        consultation.id, "patient", consultation.profile_id, False, now_of(request)
    )


@get("/tele/ended", sync_to_thread=False, name="tele_ended")
def ended_page(request: AnyRequest) -> Template:
    return page(
        "tele_message.html.j2", message=translate(request, "The teleconsultation has ended. Thank you.")
    )


HANDLERS: list[Any] = [
    join_page, join_by_code, invitation_page, invitation_link, identity_page, identity_check, consent_page, consent_record,
    waiting_page, selftest_page, call_page, patient_media_token, patient_left, ended_page,
]  # fmt: skip
