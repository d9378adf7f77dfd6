"""Security headers on every answer, no-store on every page and API answer, no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

from consulta.http.security import SECURITY_HEADERS
from consulta.settings import Settings
from tests.factories import make_patient
from tests.security.helpers import client_for, log_in

TEMPLATES = Path(__file__).resolve().parents[2] / "http" / "templates"


def assert_secure_headers(response, cacheable: bool = False) -> None:  # type: ignore[no-untyped-def]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.request.url)
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    if not cacheable:
        assert response.headers.get("cache-control") == "no-store", response.request.url


async def test_every_kind_of_answer_carries_the_headers(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    _, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, services) as client:
        anonymous = [
            await client.get("/"),
            await client.get("/search?q=x"),
            await client.get("/login"),
            await client.get("/no/such/page"),  # 404 of the router
            await client.get("/api/v1/practitioners"),
            await client.get("/api/v1/appointments"),  # 401
            await client.post("/logout"),  # CSRF refusal (403)
            await client.get("/schema/openapi.json"),
        ]
        assert {r.status_code for r in anonymous} >= {200, 401, 403, 404}
        for response in anonymous:
            assert_secure_headers(response)
        await log_in(client, email)
        assert_secure_headers(await client.get("/my/appointments"))
        assert_secure_headers(await client.get("/static/app.css"), cacheable=True)


def test_templates_have_no_inline_script_style_or_handler() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I)
    found = [
        (path.name, match.group(0))
        for path in TEMPLATES.rglob("*.j2")
        for match in inline.finditer(path.read_text())
    ]
    assert list(TEMPLATES.rglob("*.j2")), "templates were found"
    assert found == []
