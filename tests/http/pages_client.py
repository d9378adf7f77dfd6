"""Helpers for the page tests: a logged-in browser-like client over the real app and database."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar.testing import AsyncTestClient

from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings

PASSWORD = "correct horse battery"


@asynccontextmanager
async def page_client(settings: Settings, services: Services) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(create_app(settings, services), base_url="http://127.0.0.1") as client:
        await client.get("/")  # sets the CSRF cookie
        yield client


def csrf(client: AsyncTestClient[Any]) -> str:
    return str(client.cookies.get("csrftoken"))


async def post_form(client: AsyncTestClient[Any], url: str, data: dict[str, Any] | None = None) -> Any:
    return await client.post(url, data={**(data or {}), "_csrf_token": csrf(client)}, follow_redirects=False)


async def login(
    client: AsyncTestClient[Any], email: str, password: str = PASSWORD, next_url: str = ""
) -> Any:
    """Log in; staff then set up their authenticator app (the key the page shows) and enter its code."""
    response = await post_form(client, "/login", {"email": email, "password": password, "next": next_url})
    if response.status_code == 303 and response.headers["location"] == "/login/second-factor":
        from tests.accounts.principals import totp_code

        step = await client.get("/login/second-factor")
        found = re.search(r'id="totp-key" readonly value="([A-Z2-7]+)"', step.text)
        if found:
            TOTP_SECRETS[email] = found.group(1)
        assert email in TOTP_SECRETS, (
            "a second factor set up elsewhere: log in with tests/accounts/principals.py"
        )
        response = await post_form(client, "/login/code", {"code": totp_code(TOTP_SECRETS[email])})
    return response


TOTP_SECRETS: dict[str, str] = {}  # the authenticator keys staff set up at their first login in these tests


def slot_values(html: str) -> list[str]:
    """Every slot button's value on a page (`mode|instant`)."""
    return [v.replace("&#43;", "+") for v in re.findall(r'name="slot" value="([^"]+)"', html)]


def slot_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.split("|", 1)[1])


def appointment_ids(html: str) -> list[UUID]:
    return [UUID(x) for x in re.findall(r"/(?:my|pro)/appointments/([0-9a-f-]{36})", html)]
