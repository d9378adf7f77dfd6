"""The notification settings page tests share: principals logged in on their own page clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import World, build_world, page_login, post_form
from tests.http.pages_client import page_client

__all__ = ["Logged", "head", "logged_in", "post_form", "read_rows"]


@dataclass
class Logged:
    world: World
    clients: dict[str, Any]  # principal attribute name on World -> its logged-in page client


@asynccontextmanager
async def logged_in(settings: Settings, services: Services, *names: str) -> AsyncIterator[Logged]:
    world = build_world(services, services.clock.now())
    async with AsyncExitStack() as stack:
        clients = {}
        for name in names:
            client = await stack.enter_async_context(page_client(settings, services))
            client.cookies.set("lang", "en")  # the tests read English text; French is checked on its own
            await page_login(client, getattr(world, name))
            clients[name] = client
        yield Logged(world, clients)


def head(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def read_rows(settings: Settings, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()  # type: ignore[arg-type]
