"""What the API tests share: an app on the session's services, tokens, a bookable slot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import AsyncTestClient

from consulta.application import Actor
from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner

JSON = {"content-type": "application/json"}
PROBLEM = "application/problem+json"


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(settings, services)) as test_client:
        yield test_client


def head(services: Services) -> int:
    """The event log's last position: bad input must leave it unchanged."""
    return services.app.recorder.max_notification_id() or 0


async def bearer(client: AsyncTestClient[Any], actor: Actor) -> dict[str, str]:
    token = await client.app.state.api_tokens.issue(actor, "totp")  # as after a login with its second factor
    return {"authorization": f"Bearer {token}"}


async def patient(client: AsyncTestClient[Any], services: Services) -> tuple[dict[str, str], Actor, UUID]:
    """A registered patient: bearer headers (JSON included), actor, own profile id."""
    actor, profile_id, _ = make_patient(services.app, services.clock.now())
    return {**JSON, **await bearer(client, actor)}, actor, profile_id


def practitioner(services: Services, **kwargs: Any) -> tuple[UUID, Actor]:
    """A practitioner with weekday hours, visible in the read models."""
    practitioner_id, actor, position = make_practitioner(services.app, services.clock.now(), **kwargs)
    assert services.wait_for(position)
    return practitioner_id, actor


async def free_slots(
    client: AsyncTestClient[Any], practitioner_id: UUID, motif: str = "consult", **params: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/practitioners/{practitioner_id}/slots", params={"motif": motif, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()["slots"]  # type: ignore[no-any-return]


async def later_slots(
    client: AsyncTestClient[Any], practitioner_id: UUID, **params: str
) -> list[dict[str, Any]]:
    """Free slots more than a day ahead, well before any cancellation cut-off."""
    day_after = datetime.now().astimezone() + timedelta(days=1)
    to = (day_after + timedelta(days=9)).isoformat()
    slots = await free_slots(client, practitioner_id, **{"from": day_after.isoformat(), "to": to, **params})
    assert len(slots) >= 4
    return slots


def booking(practitioner_id: UUID, slot: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "practitioner_id": str(practitioner_id),
        "motif_id": slot["motif_id"],
        "starts_at": slot["starts_at"],
        "mode": slot["mode"],
        **changes,
    }


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body
