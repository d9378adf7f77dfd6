"""The API's slot listing and a motif closed to new patients: slots only for a caller who may book them."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from consulta.services import Services
from tests.http.api_helpers import JSON, assert_problem, bearer, booking, client, head  # noqa: F401

from .known_patients_setup import Practice, make_practice


@pytest.fixture(scope="module")
def practice(services: Services) -> Practice:
    return make_practice(services, "Dr Yann Suivi")


async def listing(
    client: AsyncTestClient[Any], practice: Practice, headers: dict[str, str] | None = None, **params: str
) -> dict[str, Any]:
    answer = await client.get(
        f"/api/v1/practitioners/{practice.practitioner_id}/slots", params=params, headers=headers or {}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def follow_up(body: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in body["motifs"] if m["id"] == "follow-up")


async def test_without_a_token_the_motif_is_marked_and_lists_no_slot(
    client: AsyncTestClient[Any], practice: Practice
) -> None:
    every = await listing(client, practice)  # every motif bookable online
    assert follow_up(every) == {
        "id": "follow-up",
        "restricted_to_known_patients": True,
        "slots_listed": False,
        "bookable_for": [],
    }
    assert {s["motif_id"] for s in every["slots"]} == {"consult", "long", "first"}
    consult = next(m for m in every["motifs"] if m["id"] == "consult")
    assert consult["restricted_to_known_patients"] is False and consult["slots_listed"] is True
    only = await listing(client, practice, motif="follow-up")
    assert only["slots"] == [] and follow_up(only)["slots_listed"] is False


async def test_a_patient_not_known_gets_no_slot(client: AsyncTestClient[Any], practice: Practice) -> None:
    body = await listing(client, practice, await bearer(client, practice.stranger), motif="follow-up")
    assert (
        body["slots"] == []
        and follow_up(body)["slots_listed"] is False
        and follow_up(body)["bookable_for"] == []
    )


async def test_a_known_patient_gets_the_slots_and_books_one(
    client: AsyncTestClient[Any], practice: Practice
) -> None:
    headers = await bearer(client, practice.known)
    body = await listing(client, practice, headers, motif="follow-up")
    assert body["slots"] and {s["motif_id"] for s in body["slots"]} == {"follow-up"}
    assert follow_up(body) == {
        "id": "follow-up",
        "restricted_to_known_patients": True,
        "slots_listed": True,
        "bookable_for": [str(practice.known_profile)],
    }
    booked = await client.post(
        "/api/v1/appointments",
        json=booking(practice.practitioner_id, body["slots"][0]),
        headers={**JSON, **headers},
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["profile_id"] == str(practice.known_profile)


async def test_a_parent_gets_the_slots_for_the_known_child_only(
    client: AsyncTestClient[Any], services: Services, practice: Practice
) -> None:
    headers = await bearer(client, practice.parent)
    body = await listing(client, practice, headers, motif="follow-up")
    assert body["slots"] and follow_up(body)["bookable_for"] == [str(practice.child_profile)]
    before = head(services)
    own = booking(practice.practitioner_id, body["slots"][0], profile_id=str(practice.parent_profile))
    refused = await client.post("/api/v1/appointments", json=own, headers={**JSON, **headers})
    assert assert_problem(refused, 422)["code"] == "motif_not_bookable"
    assert head(services) == before
    child = booking(practice.practitioner_id, body["slots"][0], profile_id=str(practice.child_profile))
    booked = await client.post("/api/v1/appointments", json=child, headers={**JSON, **headers})
    assert booked.status_code == 201, booked.text


async def test_the_practitioner_sees_the_slots_and_a_bad_token_is_refused(
    client: AsyncTestClient[Any], practice: Practice
) -> None:
    body = await listing(client, practice, await bearer(client, practice.staff), motif="follow-up")
    assert body["slots"] and follow_up(body)["slots_listed"] is True
    bad = await client.get(
        f"/api/v1/practitioners/{practice.practitioner_id}/slots", headers={"authorization": "Bearer nope"}
    )
    assert_problem(bad, 401)


async def test_the_openapi_document_describes_the_field(client: AsyncTestClient[Any]) -> None:
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert {"id", "restricted_to_known_patients", "slots_listed", "bookable_for"} <= set(
        schemas["SlotMotifOut"]["properties"]
    )
    assert "motifs" in schemas["SlotList"]["properties"]


async def test_a_secretary_granted_the_agenda_sees_the_slots_and_one_revoked_does_not(
    client: AsyncTestClient[Any], services: Services, practice: Practice
) -> None:
    from consulta.application import Actor
    from tests.factories import unique_email

    now = services.clock.now()
    email = unique_email("secretary")
    secretary = Actor(services.app.add_secretary(email, "correct horse battery", now).id, "secretary")
    services.app.grant_secretary(practice.staff, email, now)
    headers = await bearer(client, secretary)  # as a login gives it: no agenda named
    body = await listing(client, practice, headers, motif="follow-up")
    assert body["slots"] and follow_up(body)["slots_listed"] is True
    services.app.revoke_secretary(practice.staff, secretary.account_id, now)
    body = await listing(client, practice, headers, motif="follow-up")
    assert body["slots"] == [] and follow_up(body)["slots_listed"] is False
