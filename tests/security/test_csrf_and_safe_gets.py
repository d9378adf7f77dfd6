"""CSRF on every form, and GET never changes state: both over the application's route table."""

from __future__ import annotations

import secrets

from tests.security.helpers import head
from tests.security.route_table import routes
from tests.security.scenario import Seeded
from tests.security.test_authorization_matrix import form_body

FILLERS = {"file_path": "app.css", "path": "swagger"}


def urls_for(world: Seeded, route) -> list[str]:  # type: ignore[no-untyped-def]
    """The route filled with every seeded object of its kind (tokens: a random one)."""
    if not route.params:
        return [route.path]
    (param,) = route.params
    if param in FILLERS:
        return [route.url(**{param: FILLERS[param]})]
    if param == "token":  # real ones (a GET must not use them up) and a made-up one
        return [route.url(token=t) for t in [*world.tokens, secrets.token_urlsafe(24)]]
    things = world.of_kind(param)
    assert things, f"{route.path}: no {param} in the seeded world; add one in scenario.py"
    return [route.url(**{param: t.id}) for t in things]


async def test_every_get_as_every_principal_leaves_the_event_log_unchanged(world: Seeded) -> None:
    gets = [r for r in routes(world.clients["anonymous"].app) if r.method == "GET"]
    assert len(gets) >= 20
    before = head(world.world_services)
    errors, count = [], 0
    for route in gets:
        for url in urls_for(world, route):
            for name, client in world.clients.items():
                response = await client.get(url, follow_redirects=False)
                count += 1
                if response.status_code >= 500:
                    errors.append((url, name, response.status_code))
    print(f"GET crawl: {len(gets)} routes, {count} requests")
    assert errors == []
    assert head(world.world_services) == before, "a GET recorded an event"


async def test_every_form_without_its_token_is_refused_and_records_nothing(world: Seeded) -> None:
    posts = [r for r in routes(world.clients["anonymous"].app) if r.method == "POST" and not r.is_api]
    assert len(posts) >= 15
    before = head(world.world_services)
    accepted, count = [], 0
    for route in posts:
        for url in urls_for(world, route):
            for name, client in world.clients.items():
                for token in (None, "forged-" + secrets.token_hex(16)):
                    data = form_body(world) | ({"_csrf_token": token} if token else {})
                    response = await client.post(url, data=data, follow_redirects=False)
                    count += 1
                    if response.status_code != 403:
                        accepted.append((url, name, bool(token), response.status_code))
    print(f"CSRF: {len(posts)} form routes, {count} requests without a valid token")
    assert accepted == []
    assert head(world.world_services) == before
