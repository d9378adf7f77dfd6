"""Every route that takes an id x every principal x every object: a foreign object looks exactly like a missing one.

Routes come from the application's own route table (route_table.py), so a new
route is in the matrix as soon as it exists. For each cell where the principal
has no relation to the object that the route requires: the answer equals the
answer for a random id that exists nowhere (status, location, body, with the
id itself blanked), is no success, and the event log does not move. Where the
principal does have the relation, a GET answers 200 (the ids are real).
"""

from __future__ import annotations

import re
from typing import Any

from tests.security.helpers import head
from tests.security.route_table import Route, id_routes, relations_of
from tests.security.scenario import Seeded, Thing

CSRF_VALUE = re.compile(r'(name="_csrf_token" value=")[^"]*"')


def form_body(world: Seeded) -> dict[str, str]:
    slot = world.free_slot
    return {
        "reason": "matrix check",
        "slot": f"{slot['mode']}|{slot['starts_at']}",
        "next": "",
        "code": "000000",
    }


async def call(world: Seeded, principal: str, route: Route, thing: Thing) -> Any:
    client = world.clients[principal]
    params = {p: thing.id for p in route.params}
    url = route.url(**params)
    if route.method == "GET":
        return await client.get(url, follow_redirects=False)
    if route.is_api:
        slot = world.free_slot
        body = {"reason": "matrix check", "starts_at": slot["starts_at"], "mode": slot["mode"]}
        return await client.post(url, json=body, follow_redirects=False)
    token = client.cookies.get("csrftoken")
    return await client.post(url, data={**form_body(world), "_csrf_token": token}, follow_redirects=False)


def shape(response: Any, thing: Thing) -> tuple[int, str, str]:
    """What a caller can see, with the requested id blanked."""
    text = CSRF_VALUE.sub(r'\1"', response.text).replace(str(thing.id), "{id}")
    location = response.headers.get("location", "").replace(str(thing.id), "{id}")
    return response.status_code, location, text


def allowed(world: Seeded, principal: str, relations: set[str], thing: Thing) -> bool:
    return any(principal in thing.relations.get(r, set()) for r in relations)


async def test_foreign_objects_look_missing_and_change_nothing(world: Seeded) -> None:
    routes = id_routes(world.clients["anonymous"].app)
    assert len(routes) >= 15, "the route table was read"
    unclassified, failures, controls, cells = [], [], [], 0
    for route in routes:
        try:
            relations = relations_of(route)
        except KeyError as error:
            unclassified.append(str(error))
            continue
        if relations is None:
            continue  # public: the directory
        kinds = [p for p in route.params]
        assert len(kinds) == 1, f"{route.path}: several ids; extend the matrix"
        objects = world.of_kind(kinds[0])
        assert objects, f"{route.path}: no {kinds[0]} in the seeded world; add one in scenario.py"
        for principal in world.clients:
            missing = world.missing(kinds[0])
            before = head(world.world_services)
            reference = shape(await call(world, principal, route, missing), missing)
            if reference[0] < 300 or head(world.world_services) != before:
                failures.append((route.method, route.path, principal, "missing id", reference[0]))
            for thing in objects:
                if allowed(world, principal, relations, thing):
                    if route.method == "GET" and principal not in world.partial:
                        response = await call(world, principal, route, thing)
                        controls.append(response.status_code)
                        if response.status_code != 200:
                            failures.append(
                                (
                                    route.method,
                                    route.path,
                                    principal,
                                    f"own {thing.label}",
                                    response.status_code,
                                )
                            )
                    continue
                cells += 1
                before = head(world.world_services)
                answer = shape(await call(world, principal, route, thing), thing)
                moved = head(world.world_services) != before
                if moved or answer != reference or answer[0] < 300:
                    failures.append(
                        (route.method, route.path, principal, thing.label, answer[0], reference[0], moved)
                    )
    print(f"authorization matrix: {len(routes)} id routes, {cells} foreign cells, {len(controls)} own reads")
    assert unclassified == []
    assert not failures, "\n".join(map(str, failures))
    assert cells >= 200 and controls
