"""API appointments: book, mine, cancel, reschedule; 409 on a taken slot; foreign ids look missing."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

from uuid import uuid4

from tests.http.api_helpers import (  # noqa: F401
    JSON,
    assert_problem,
    booking,
    client,
    free_slots,
    head,
    later_slots,
    patient,
    practitioner,
)

APPOINTMENT_KEYS = {"id", "status", "practitioner_id", "motif_id", "starts_at", "ends_at", "mode"}


async def test_booking_answers_201_and_shows_at_once_in_my_appointments(client, services):
    practitioner_id, _ = practitioner(services, timezone="America/New_York")
    headers, _, profile_id = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[2]

    response = await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=headers)
    assert response.status_code == 201, response.text
    booked = response.json()
    assert set(booked) >= APPOINTMENT_KEYS
    assert booked["status"] == "booked" and booked["practitioner_id"] == str(practitioner_id)
    assert booked["profile_id"] == str(profile_id) and booked["motif_id"] == "consult"
    assert (booked["starts_at"], booked["ends_at"], booked["mode"]) == (
        slot["starts_at"],
        slot["ends_at"],
        slot["mode"],
    )
    assert booked["starts_at"].endswith(("-05:00", "-04:00"))  # New York time, with its offset

    mine = await client.get("/api/v1/appointments", headers=headers)
    assert mine.status_code == 200 and [a["id"] for a in mine.json()["items"]] == [booked["id"]]
    assert {k: mine.json()["items"][0][k] for k in APPOINTMENT_KEYS} == {
        k: booked[k] for k in APPOINTMENT_KEYS
    }
    one = await client.get(f"/api/v1/appointments/{booked['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["starts_at"] == slot["starts_at"]
    assert slot["starts_at"] not in [s["starts_at"] for s in await later_slots(client, practitioner_id)]


async def test_a_taken_slot_answers_409_and_records_nothing(client, services):
    practitioner_id, _ = practitioner(services)
    first, _, _ = await patient(client, services)
    second, _, _ = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[0]
    assert (
        await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=first)
    ).status_code == 201
    before = head(services)
    taken = await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=second)
    assert assert_problem(taken, 409)["code"] == "slot_taken"
    assert head(services) == before


async def test_a_retry_with_the_same_key_returns_the_first_answer_and_records_nothing(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slots = await later_slots(client, practitioner_id)
    keyed = {**headers, "Idempotency-Key": str(uuid4())}

    first = await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[0]), headers=keyed)
    assert first.status_code == 201, first.text
    before = head(services)
    retry = await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[0]), headers=keyed)
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert head(services) == before

    other = await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[1]), headers=keyed)
    assert assert_problem(other, 422)["code"] == "idempotency_key_reused"
    assert head(services) == before
    mine = (await client.get("/api/v1/appointments", headers=headers)).json()["items"]
    assert [a["id"] for a in mine] == [first.json()["id"]]


async def test_the_retry_answer_stays_the_first_one_after_a_cancellation(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[0]
    keyed = {**headers, "Idempotency-Key": "order-42"}
    first = await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=keyed)
    assert (
        await client.post(f"/api/v1/appointments/{first.json()['id']}/cancel", headers=headers)
    ).status_code == 200
    retry = await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=keyed)
    assert (retry.status_code, retry.json()) == (201, first.json())


async def test_the_same_key_from_two_accounts_books_twice_and_concurrent_retries_book_once(client, services):
    import asyncio

    practitioner_id, _ = practitioner(services)
    one, _, _ = await patient(client, services)
    two, _, _ = await patient(client, services)
    slots = await later_slots(client, practitioner_id)
    key = {"Idempotency-Key": "same-key"}
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/appointments", json=booking(practitioner_id, slots[0]), headers={**one, **key}
            )
            for _ in range(4)
        )
    )
    assert {a.status_code for a in answers} == {201} and len({a.json()["id"] for a in answers}) == 1
    other = await client.post(
        "/api/v1/appointments", json=booking(practitioner_id, slots[1]), headers={**two, **key}
    )
    assert other.status_code == 201 and other.json()["id"] != answers[0].json()["id"]


async def test_cancel_then_the_slot_is_free_again_and_a_second_cancel_answers_409(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[1]
    booked = (
        await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=headers)
    ).json()

    cancelled = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "feeling better"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["id"] == booked["id"]
    mine = (await client.get("/api/v1/appointments", headers=headers)).json()["items"]
    assert [(a["id"], a["status"]) for a in mine] == [(booked["id"], "cancelled")]
    assert slot["starts_at"] in [s["starts_at"] for s in await later_slots(client, practitioner_id)]

    before = head(services)
    again = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=headers)
    assert assert_problem(again, 409)["code"] == "appointment_closed"
    assert head(services) == before


async def test_cancel_refuses_a_body_that_is_not_json(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[0]
    booked = (
        await client.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=headers)
    ).json()
    before = head(services)
    plain = {**headers, "content-type": "text/plain"}
    response = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", content=b"reason", headers=plain
    )
    assert_problem(response, 415)
    assert head(services) == before


async def test_reschedule_moves_it_and_a_taken_target_answers_409(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    other, _, _ = await patient(client, services)
    # One mode: a move keeps the appointment's mode, and the slots after "now + 1 day" may begin with a
    # practice slot followed by video ones (at 16:34 in Paris: 16:40 practice, then 17:00 and 17:20 video).
    slots = await later_slots(client, practitioner_id, mode="practice")
    mine = (
        await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[0]), headers=headers)
    ).json()
    theirs = await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[1]), headers=other)
    assert theirs.status_code == 201

    moved = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule",
        json={"starts_at": slots[2]["starts_at"]},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["starts_at"], moved.json()["ends_at"]) == (
        slots[2]["starts_at"],
        slots[2]["ends_at"],
    )
    listed = (await client.get("/api/v1/appointments", headers=headers)).json()["items"]
    assert [(a["id"], a["starts_at"]) for a in listed] == [(mine["id"], slots[2]["starts_at"])]

    before = head(services)
    onto_theirs = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule",
        json={"starts_at": slots[1]["starts_at"]},
        headers=headers,
    )
    assert assert_problem(onto_theirs, 409)["code"] == "slot_taken"
    naive = await client.post(
        f"/api/v1/appointments/{mine['id']}/reschedule",
        json={"starts_at": "2030-01-07T10:00:00"},
        headers=headers,
    )
    assert [e["name"] for e in assert_problem(naive, 422)["errors"]] == ["starts_at"]
    assert head(services) == before


async def test_foreign_appointments_look_exactly_like_missing_ones(client, services):
    practitioner_id, _ = practitioner(services)
    owner, _, _ = await patient(client, services)
    stranger, _, _ = await patient(client, services)
    slots = await later_slots(client, practitioner_id)
    booked = (
        await client.post("/api/v1/appointments", json=booking(practitioner_id, slots[0]), headers=owner)
    ).json()
    before = head(services)
    for appointment_id in (booked["id"], str(uuid4())):
        seen = [
            await client.get(f"/api/v1/appointments/{appointment_id}", headers=stranger),
            await client.post(f"/api/v1/appointments/{appointment_id}/cancel", json={}, headers=stranger),
            await client.post(
                f"/api/v1/appointments/{appointment_id}/reschedule",
                json={"starts_at": slots[3]["starts_at"]},
                headers=stranger,
            ),
        ]
        assert [assert_problem(r, 404)["detail"] for r in seen] == [
            "appointment not found",
            "appointment not found",
            "appointment not found",
        ]
    assert (await client.get("/api/v1/appointments", headers=stranger)).json() == {"items": []}
    assert head(services) == before


async def test_booking_requests_beyond_the_rate_answer_429_with_retry_after(settings, services):
    from datetime import UTC, datetime

    from litestar.testing import AsyncTestClient

    from consulta.http.app import create_app

    if datetime.now(UTC).second > 52:  # the limit counts per minute: start in a fresh one
        import time

        time.sleep(61 - datetime.now(UTC).second)
    practitioner_id, _ = practitioner(services)
    async with AsyncTestClient(create_app(settings.with_(booking_rate_per_minute=2), services)) as limited:
        headers, _, _ = await patient(limited, services)
        slots = await later_slots(limited, practitioner_id)
        answers = [
            await limited.post("/api/v1/appointments", json=booking(practitioner_id, slot), headers=headers)
            for slot in slots[:3]
        ]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert_problem(answers[2], 429)
        assert 1 <= int(answers[2].headers["retry-after"]) <= 60
        mine = (await limited.get("/api/v1/appointments", headers=headers)).json()["items"]
        assert len(mine) == 2
