"""What the security tests share: clients on a chosen clock and mode, principals, the event log head."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from litestar.testing import AsyncTestClient

from consulta.clock import FixedClock
from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings

PASSWORD = "correct horse battery"


def head(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def on_clock(services: Services, at: datetime) -> tuple[Services, FixedClock]:
    """The same services (store, read models) read through a clock the test moves."""
    clock = FixedClock(at)
    return dataclasses.replace(services, clock=clock), clock


@asynccontextmanager
async def client_for(
    settings: Settings, services: Services, *, secure: bool = False, app: Any = None
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A browser-like client; pass `app` to share one application (one session store) between clients."""
    base = "https://127.0.0.1" if secure else "http://127.0.0.1"
    async with AsyncTestClient(app or create_app(settings, services), base_url=base) as client:
        await client.get("/")  # sets the CSRF cookie
        yield client


def csrf_token(client: AsyncTestClient[Any]) -> str:
    return str(client.cookies.get("__Host-csrftoken") or client.cookies.get("csrftoken"))


async def post_form(client: AsyncTestClient[Any], url: str, data: dict[str, Any] | None = None) -> Any:
    return await client.post(
        url, data={**(data or {}), "_csrf_token": csrf_token(client)}, follow_redirects=False
    )


async def log_in(client: AsyncTestClient[Any], email: str, password: str = PASSWORD) -> Any:
    return await post_form(client, "/login", {"email": email, "password": password})


def add_practitioner(
    services: Services, now: datetime, name: str = "Dr Claire Martin"
) -> tuple[Any, Any, str]:
    """A practitioner with weekday hours and motifs, visible in the read models: (id, actor, e-mail)."""
    from consulta.application import Actor
    from tests.factories import MOTIFS, WEEKDAY_HOURS, unique_email

    email = unique_email("dr")
    app = services.app
    outcome = app.add_practitioner(
        email, PASSWORD, name, "General practitioner", "Lyon", now, "1 rue de la Paix", "Europe/Paris"
    )
    actor = Actor(app.get_practitioner(outcome.id).account_id, "practitioner", outcome.id)
    configured = app.configure_agenda(actor, outcome.id, hours=WEEKDAY_HOURS, motifs=MOTIFS, policy=None)
    assert services.wait_for(configured.position)
    return outcome.id, actor, email
