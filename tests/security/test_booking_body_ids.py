"""Ids in a booking's body, not its path: the matrix of test_authorization_matrix.py for `profile_id`.

`POST /pro/appointments` (the staff's form) and `POST /api/v1/appointments`
take the patient's profile id in the body, so the route-table matrix does not
see them. Here every principal books, on their own agenda (X's for the others),
for every seeded profile they have no relation to: the answer equals the answer
for a random id that exists nowhere, is no success, and the event log does not move.
A profile of another practice is such a profile (docs/security.md, "Booking for a patient").
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.security.helpers import head
from tests.security.scenario import Seeded, Thing
from tests.security.test_authorization_matrix import shape

ROUTES = {"/pro/appointments": {"staff"}, "/api/v1/appointments": {"staff", "manager"}}


async def book(world: Seeded, principal: str, path: str, profile_id: UUID) -> Any:
    client = world.clients[principal]
    slot = world.free_slot
    if path.startswith("/api/"):
        found = next(p for p in world.principals if p.name == principal)
        agenda = found.practitioner_id or world.world.practitioner_x.practitioner_id
        body = {"practitioner_id": str(agenda), "motif_id": slot["motif_id"], "mode": slot["mode"],
                "starts_at": slot["starts_at"], "profile_id": str(profile_id)}  # fmt: skip
        return await client.post(path, json=body, follow_redirects=False)
    form = {"motif_id": slot["motif_id"], "slot": f"{slot['mode']}|{slot['starts_at']}",
            "profile_id": str(profile_id), "_csrf_token": client.cookies.get("csrftoken")}  # fmt: skip
    return await client.post(path, data=form, follow_redirects=False)


async def test_booking_for_a_foreign_profile_looks_like_booking_for_a_missing_one(world: Seeded) -> None:
    profiles = world.of_kind("profile_id")
    assert len(profiles) >= 4
    failures, cells = [], 0
    for path, relations in ROUTES.items():
        for principal in world.clients:
            missing = world.missing("profile_id")
            before = head(world.world_services)
            reference = shape(await book(world, principal, path, missing.id), missing)
            if reference[0] < 300 or head(world.world_services) != before:
                failures.append((path, principal, "missing id", reference[0]))
            for thing in profiles:
                if any(principal in thing.relations.get(r, set()) for r in relations):
                    continue  # theirs to book for: not booked here, the seeded slot stays free
                cells += 1
                answer, moved = await _refused(world, principal, path, thing)
                if moved or answer != reference or answer[0] < 300:
                    failures.append((path, principal, thing.label, answer[0], reference[0], moved))
    print(f"booking body ids: {cells} foreign cells")
    assert not failures, "\n".join(map(str, failures))
    assert cells >= 20


async def _refused(
    world: Seeded, principal: str, path: str, thing: Thing
) -> tuple[tuple[int, str, str], bool]:
    before = head(world.world_services)
    answer = shape(await book(world, principal, path, thing.id), thing)
    return answer, head(world.world_services) != before
