"""The seeded world is built once for the route-table tests (logins with TOTP codes take a while)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.security.scenario import Seeded, seeded


@pytest.fixture(scope="session")
async def world(settings: Settings, services: Services) -> AsyncIterator[Seeded]:
    async with seeded(settings, services) as found:
        yield found
