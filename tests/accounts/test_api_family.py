"""API: a patient adds a person they book for, lists them, books for them; others see nothing."""

from __future__ import annotations

from tests.accounts.conftest import head
from tests.accounts.principals import api_login


async def test_add_list_and_book_for_a_family_member(client, services, world) -> None:  # type: ignore[no-untyped-def]
    token = await api_login(client, world.child_manager)
    auth = {"authorization": f"Bearer {token}"}
    listed = await client.get("/api/v1/profiles", headers=auth)
    assert listed.status_code == 200
    names = {(p["first_name"], p["own"]) for p in listed.json()["items"]}
    assert ("Marc", True) in names and ("Chloé", False) in names
    before = head(services)
    for bad in ({"first_name": "", "last_name": "X", "birth_date": "2020-01-01"},
                {"first_name": "Ana", "last_name": "X", "birth_date": "2999-01-01"},
                {"first_name": "Ana", "last_name": "X"}):  # fmt: skip
        assert (await client.post("/api/v1/profiles", json=bad, headers=auth)).status_code in (400, 422)
    assert head(services) == before
    added = await client.post(
        "/api/v1/profiles",
        json={"first_name": "Paul", "last_name": "Aubert", "birth_date": "1948-02-02"},
        headers=auth,
    )
    assert added.status_code == 201 and added.json()["own"] is False
    x = world.practitioner_x.practitioner_id
    slots = (await client.get(f"/api/v1/practitioners/{x}/slots", params={"motif": "consult"})).json()[
        "slots"
    ]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "practitioner_id": str(x),
            "motif_id": "consult",
            "starts_at": slots[-1]["starts_at"],
            "mode": slots[-1]["mode"],
            "profile_id": added.json()["id"],
        },
        headers=auth,
    )
    assert booked.status_code == 201, booked.text
    # Another patient cannot book for that profile: it looks missing.
    other = {"authorization": f"Bearer {await api_login(client, world.patient_b)}"}
    refused = await client.post(
        "/api/v1/appointments",
        json={
            "practitioner_id": str(x),
            "motif_id": "consult",
            "starts_at": slots[-2]["starts_at"],
            "mode": slots[-2]["mode"],
            "profile_id": added.json()["id"],
        },
        headers=other,
    )
    assert refused.status_code == 404
    assert added.json()["id"] not in (await client.get("/api/v1/profiles", headers=other)).text


async def test_staff_have_no_family(client, world) -> None:  # type: ignore[no-untyped-def]
    token = await api_login(client, world.practitioner_y)
    assert (
        await client.get("/api/v1/profiles", headers={"authorization": f"Bearer {token}"})
    ).status_code == 404
    assert (await client.get("/api/v1/profiles")).status_code == 401
