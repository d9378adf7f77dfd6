"""Every page carries the navigation of its reader's role, in French and in English."""

from __future__ import annotations

import re

import pytest

from tests.accounts.principals import page_login, post_form

NAVIGATION = {
    "anonymous": (["/", "/login", "/register"], ["/my/appointments", "/pro/agenda", "/sec"]),
    "patient A": (["/", "/my/appointments", "/family", "/account"], ["/pro/agenda", "/sec", "/login"]),
    "practitioner X": (
        ["/pro/agenda", "/pro/agenda/week", "/pro/inbox", "/pro/secretaries", "/pro/profile", "/account"],
        ["/my/appointments", "/family", "/sec"],
    ),
    "X's secretary": (
        ["/sec", "/pro/agenda", "/sec/patients", "/sec/message", "/account"],
        ["/my/appointments", "/family", "/pro/secretaries", "/pro/inbox"],
    ),
}
WORDS = {"fr": "Se déconnecter", "en": "Log out"}
MISSING = "00000000-0000-0000-0000-000000000007"
# An error page inside the role's pages (the router's own 404 for unknown paths runs without the session).
ERROR_PAGE = {
    "anonymous": "/no-such-page",
    "patient A": f"/my/appointments/{MISSING}/booked",
    "practitioner X": f"/pro/appointments/{MISSING}",
    "X's secretary": f"/pro/appointments/{MISSING}",
}


def nav_links(html: str) -> set[str]:
    nav = re.search(r"<nav[^>]*>(.*?)</nav>", html, re.S)
    assert nav, "no navigation"
    return set(re.findall(r'href="([^"]+)"', nav.group(1)))


@pytest.mark.parametrize("who", list(NAVIGATION))
@pytest.mark.parametrize("language", ["fr", "en"])
async def test_navigation_of_each_role(client, world, who: str, language: str) -> None:  # type: ignore[no-untyped-def]
    principal = next(p for p in world.all() if p.name == who)
    await page_login(client, principal)
    await post_form(client, "/language", {"lang": language, "next": "/"})
    for path in ("/account" if who != "anonymous" else "/", ERROR_PAGE[who]):
        page = await client.get(path)
        present, absent = NAVIGATION[who]
        links = nav_links(page.text)
        assert set(present) <= links, (who, path, links)
        assert not set(absent) & links, (who, path, links)
        assert f'lang="{language}"' in page.text
        if who != "anonymous":
            assert WORDS[language] in page.text
