"""API commands of a tele-secretary: book, reschedule and cancel on the agendas granted to them now.

The same rules as the practitioner's own staff on the pages: a patient of the
practice by id, anyone else only by naming them; no cut-off; every event names
the secretary. A revoked grant, or another practice's secretary, gets the
answer of a missing practitioner or appointment, and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from consulta.aggregates.appointment import Appointment
from consulta.http.api_appointments import idempotent_id
from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.test_staff_booking_scope import new_patient as stranger  # tied to no practice
from tests.http.api_helpers import assert_problem, head
from tests.http.test_api_agenda import Practice, login, practice


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[AsyncTestClient[Any]]:
    """Staff log in with a code: a generous login limit for the logins of one test."""
    app = create_app(settings.with_(login_rate_per_minute=10_000), services)
    async with AsyncTestClient(app) as test_client:
        yield test_client


def free(services: Services, practitioner_id: Any, count: int = 3) -> list[tuple[str, datetime]]:
    """Free consultation slots (mode, start) two days ahead or more, as staff may book them."""
    now = services.clock.now()
    card = services.reads.practitioner(practitioner_id)
    assert card is not None
    slots = services.reads.free_slots(
        card, "consult", now + timedelta(days=2), now + timedelta(days=16), now, staff=True
    )
    assert len(slots) >= count
    return [(s.mode, s.starts_at) for s in slots[:count]]


def body(practitioner_id: Any, slot: tuple[str, datetime], profile_id: Any, **named: str) -> dict[str, Any]:
    mode, starts_at = slot
    return {"practitioner_id": str(practitioner_id), "motif_id": "consult", "mode": mode,
            "starts_at": starts_at.isoformat(), "profile_id": str(profile_id), **named}  # fmt: skip


def sec_id(w: Practice) -> UUID:
    assert w.secretary.actor is not None
    return w.secretary.actor.account_id


def events_of(services: Services, appointment_id: UUID) -> list[Any]:
    return list(services.app.events.get(appointment_id))


async def cancel(client: AsyncTestClient[Any], appointment_id: Any, headers: dict[str, str]) -> Any:
    return await client.post(f"/api/v1/appointments/{appointment_id}/cancel", json={"reason": "fever"},
                             headers=headers)  # fmt: skip


async def move(
    client: AsyncTestClient[Any], appointment_id: Any, slot: tuple[str, datetime], headers: dict[str, str]
) -> Any:
    json = {"starts_at": slot[1].isoformat(), "mode": slot[0]}
    return await client.post(f"/api/v1/appointments/{appointment_id}/reschedule", json=json, headers=headers)


def same(one: Any, other: Any) -> bool:
    return (one.status_code, one.json()) == (other.status_code, other.json())


async def test_a_granted_secretary_books_a_named_patient_moves_and_cancels_and_every_event_names_them(
    client, services
):
    w = practice(services)
    x_id, secretary = w.x.practitioner_id, sec_id(w)
    _, quentin = stranger(services, "Quentin", "Quidam", date(2001, 1, 31))
    headers = await login(client, w.secretary)
    first, second = free(services, x_id, 2)
    keyed = {**headers, "Idempotency-Key": "call-0931"}
    named = body(x_id, first, quentin, patient_last_name=" quidam ", patient_birth_date="2001-01-31")

    booked = await client.post("/api/v1/appointments", json=named, headers=keyed)
    assert booked.status_code == 201, booked.text
    made = booked.json()
    assert (made["status"], made["practitioner_id"], made["profile_id"]) == (
        "booked",
        str(x_id),
        str(quentin),
    )
    appointment_id = UUID(made["id"])
    assert appointment_id == idempotent_id(secretary, "call-0931"), "the key is the secretary's account's"
    appointment = services.app.repository.get(appointment_id)
    assert isinstance(appointment, Appointment)
    assert (appointment.booked_by, appointment.booked_by_role) == (secretary, "secretary")

    # A retry with the same key answers the first booking and records nothing.
    before = head(services)
    retry = await client.post("/api/v1/appointments", json=named, headers=keyed)
    assert (retry.status_code, retry.json()) == (201, made)
    assert head(services) == before

    moved = await move(client, appointment_id, second, headers)
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == second[1]
    cancelled = await cancel(client, appointment_id, headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    events = events_of(services, appointment_id)
    assert [type(e).__name__ for e in events] == ["Booked", "Rescheduled", "Cancelled"]
    assert [(e.by, e.by_role) for e in events[1:]] == [(secretary, "secretary")] * 2
    assert services.app.repository.get(appointment_id).closed_reason == "fever"

    # An appointment the patient booked: the secretary moves it as the practice's staff.
    anne_moved = await move(client, w.booked, first, headers)
    assert anne_moved.status_code == 200, anne_moved.text
    last = events_of(services, w.booked)[-1]
    assert (type(last).__name__, last.by, last.by_role) == ("Rescheduled", secretary, "secretary")


async def test_a_revoked_grant_refuses_at_once_and_records_nothing(client, services):
    w = practice(services)
    x_id = w.x.practitioner_id
    headers = await login(client, w.secretary)
    slots = free(services, x_id, 3)
    keyed = {**headers, "Idempotency-Key": "before-revoke"}
    own = await client.post(
        "/api/v1/appointments", json=body(x_id, slots[0], w.anne.profile_id), headers=keyed
    )
    assert own.status_code == 201, own.text  # Anne is a patient of X: booked by id alone

    services.app.revoke_secretary(w.x.actor, sec_id(w), services.clock.now())  # type: ignore[arg-type]
    before = head(services)
    for profile_id in (w.paul.profile_id, w.anne.profile_id):
        refused = await client.post(
            "/api/v1/appointments", json=body(x_id, slots[1], profile_id), headers=headers
        )
        nowhere = await client.post(
            "/api/v1/appointments", json=body(uuid4(), slots[1], profile_id), headers=headers
        )
        assert assert_problem(refused, 404)["detail"] == "practitioner not found"
        assert same(refused, nowhere), "as for a practitioner that does not exist"
    replay = await client.post(
        "/api/v1/appointments", json=body(x_id, slots[0], w.anne.profile_id), headers=keyed
    )
    assert assert_problem(replay, 404)["detail"] == "practitioner not found", "no answer from the old key"
    for appointment_id in (own.json()["id"], w.booked):
        missing = uuid4()
        assert same(await cancel(client, appointment_id, headers), await cancel(client, missing, headers))
        assert same(
            await move(client, appointment_id, slots[2], headers),
            await move(client, missing, slots[2], headers),
        )
        assert (
            assert_problem(await cancel(client, appointment_id, headers), 404)["detail"]
            == "appointment not found"
        )
    assert head(services) == before
    assert services.app.repository.get(w.booked).status == "booked"


async def test_a_secretary_of_another_practice_is_refused_like_a_missing_object(client, services):
    w = practice(services)
    x_id = w.x.practitioner_id
    headers = await login(client, w.stranger)  # granted on Y's agenda only
    slot = free(services, x_id, 1)[0]
    before = head(services)
    on_x = await client.post(
        "/api/v1/appointments", json=body(x_id, slot, w.anne.profile_id), headers=headers
    )
    nowhere = await client.post(
        "/api/v1/appointments", json=body(uuid4(), slot, w.anne.profile_id), headers=headers
    )
    assert assert_problem(on_x, 404)["detail"] == "practitioner not found"
    assert same(on_x, nowhere)
    missing = uuid4()
    assert same(await cancel(client, w.booked, headers), await cancel(client, missing, headers))
    assert same(await move(client, w.booked, slot, headers), await move(client, missing, slot, headers))
    assert assert_problem(await cancel(client, w.booked, headers), 404)["detail"] == "appointment not found"
    assert head(services) == before
    assert services.app.repository.get(w.booked).status == "booked"


async def test_a_secretary_books_a_stranger_only_by_naming_them(client, services):
    w = practice(services)
    x_id, y_id = w.x.practitioner_id, w.y.practitioner_id
    _, quentin = stranger(services, "Quentin", "Quidam", date(2001, 1, 31))
    # Pierre is Y's patient only (booked there by himself): a stranger to X's practice.
    pierre_actor, pierre = stranger(services, "Pierre", "Appel", date(1975, 7, 14))
    mode, starts_at = free(services, y_id, 1)[0]
    at_y = services.app.book(pierre_actor, y_id, "consult", mode, starts_at, pierre, services.clock.now())  # type: ignore[arg-type]
    assert services.wait_for(at_y.position)
    headers = await login(client, w.secretary)
    slot = free(services, x_id, 1)[0]
    before = head(services)
    missing = await client.post("/api/v1/appointments", json=body(x_id, slot, uuid4()), headers=headers)
    assert assert_problem(missing, 404)["detail"] == "profile not found"
    for profile_id in (quentin, pierre):
        by_id = await client.post("/api/v1/appointments", json=body(x_id, slot, profile_id), headers=headers)
        wrong = body(x_id, slot, profile_id, patient_last_name="Quidam", patient_birth_date="2001-02-01")
        misnamed = await client.post("/api/v1/appointments", json=wrong, headers=headers)
        for answer in (by_id, misnamed):
            assert (answer.status_code, answer.json()) == (missing.status_code, missing.json())
    half = await client.post(
        "/api/v1/appointments", json=body(x_id, slot, quentin, patient_last_name="Quidam"), headers=headers
    )
    assert [e["name"] for e in assert_problem(half, 422)["errors"]] == ["patient_birth_date"]
    no_profile = {k: v for k, v in body(x_id, slot, quentin).items() if k != "profile_id"}
    assert assert_problem(await client.post("/api/v1/appointments", json=no_profile, headers=headers), 422)
    assert head(services) == before

    named = body(x_id, slot, pierre, patient_last_name="APPEL", patient_birth_date="1975-07-14")
    booked = await client.post("/api/v1/appointments", json=named, headers=headers)
    assert booked.status_code == 201, booked.text
    assert booked.json()["profile_id"] == str(pierre)


async def test_the_booking_rate_counts_the_secretarys_own_account(settings, services):
    if datetime.now(UTC).second > 50:  # the limit counts per minute: start in a fresh one
        import time

        time.sleep(61 - datetime.now(UTC).second)
    w = practice(services)
    x_id = w.x.practitioner_id
    app = create_app(settings.with_(booking_rate_per_minute=2), services)
    async with AsyncTestClient(app) as limited:
        tokens = limited.app.state.api_tokens
        as_secretary = {"authorization": f"Bearer {await tokens.issue(w.secretary.actor, 'totp')}"}
        as_x = {"authorization": f"Bearer {await tokens.issue(w.x.actor, 'totp')}"}
        slots = free(services, x_id, 4)
        answers = [
            await limited.post(
                "/api/v1/appointments", json=body(x_id, s, w.anne.profile_id), headers=as_secretary
            )
            for s in slots[:3]
        ]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert 1 <= int(answers[2].headers["retry-after"]) <= 60
        limited_move = await move(limited, answers[0].json()["id"], slots[2], as_secretary)
        assert limited_move.status_code == 429, "reschedules count too"
        by_x = await limited.post(
            "/api/v1/appointments", json=body(x_id, slots[3], w.anne.profile_id), headers=as_x
        )
        assert by_x.status_code == 201, "the practitioner's account has its own count"
