"""Search, results and the practitioner page, in French and English, with bad input refused."""

from __future__ import annotations

from typing import Any

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_practitioner

from .pages_client import page_client, post_form, slot_values


@pytest.fixture(scope="module")
def cardiologist(services: Services) -> Any:
    now = services.clock.now()
    pid, _actor, position = make_practitioner(
        services.app, now, name="Dr Hugo Pagesearch", specialty="Cardiology", city="Nantes"
    )
    services.wait_for(position)
    return pid


async def test_home_search_and_results(settings: Settings, services: Services, cardiologist: Any) -> None:
    async with page_client(settings, services) as client:
        home = await client.get("/")
        assert home.status_code == 200
        assert '<html lang="fr">' in home.text
        assert '<label for="q">' in home.text and "Cardiology" in home.text
        found = await client.get("/search", params={"q": "Pagesearch"})
        assert found.status_code == 200
        assert f"/practitioners/{cardiologist}" in found.text
        none = await client.get("/search", params={"q": "Pagesearch", "city": "Brest"})
        assert f"/practitioners/{cardiologist}" not in none.text
        video = await client.get("/search", params={"q": "Pagesearch", "video": "1"})
        assert f"/practitioners/{cardiologist}" in video.text  # the factory's hours include video


async def test_practitioner_page_shows_slots_with_zone(
    settings: Settings, services: Services, cardiologist: Any
) -> None:
    async with page_client(settings, services) as client:
        response = await client.get(f"/practitioners/{cardiologist}")
        assert response.status_code == 200
        html = response.text
        assert "Dr Hugo Pagesearch" in html
        assert "(Europe/Paris)" in html
        values = slot_values(html)
        assert values, "the next free slots are listed"
        card = services.reads.practitioner(cardiologist)
        assert card is not None
        _mode, instant = values[0].split("|", 1)
        from datetime import datetime

        first = datetime.fromisoformat(instant)
        local = first.astimezone(card.rules.zone).strftime("%H:%M")
        assert f'data-zone="Europe/Paris">{local}</time>' in html
        more = await client.get(f"/practitioners/{cardiologist}/slots", params={"motif": "consult"})
        assert more.status_code == 200 and slot_values(more.text)


async def test_both_languages_render(settings: Settings, services: Services, cardiologist: Any) -> None:
    async with page_client(settings, services) as client:
        french = await client.get(f"/practitioners/{cardiologist}")
        assert "Plus de dates" in french.text and '<html lang="fr">' in french.text
        switched = await post_form(
            client, "/language", {"lang": "en", "next": f"/practitioners/{cardiologist}"}
        )
        assert switched.status_code == 303
        assert switched.headers["location"] == f"/practitioners/{cardiologist}"
        english = await client.get(f"/practitioners/{cardiologist}")
        assert '<html lang="en">' in english.text and "More dates" in english.text
        login = await client.get("/login")
        assert ">Log in</h1>" in login.text
    async with page_client(settings, services) as client:
        by_header = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert '<html lang="en">' in by_header.text
        assert "Connexion" in (await client.get("/login")).text


async def test_language_switch_refuses_other_hosts(settings: Settings, services: Services) -> None:
    async with page_client(settings, services) as client:
        response = await post_form(client, "/language", {"lang": "en", "next": "//evil.example/"})
        assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/practitioners/00000000-0000-0000-0000-000000000001",
        "/practitioners/not-a-uuid",
        "/practitioners/{p}/slots?motif=unknown",
        "/practitioners/{p}/slots?motif=consult&start=2026-13-45",
    ],
)
async def test_bad_input_gets_a_clear_4xx_page(
    settings: Settings, services: Services, cardiologist: Any, path: str
) -> None:
    async with page_client(settings, services) as client:
        response = await client.get(path.replace("{p}", str(cardiologist)))
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>" in response.text and "Traceback" not in response.text


async def test_error_pages_speak_the_readers_language(settings: Settings, services: Services) -> None:
    async with page_client(settings, services) as client:
        missing = await client.get("/no-such-page")
        assert missing.status_code == 404
        assert '<html lang="fr">' in missing.text and "Introuvable" in missing.text
        english = await client.get("/no-such-page", headers={"Accept-Language": "en"})
        assert "Not found" in english.text
        forged = await client.post("/logout", data={}, follow_redirects=False)  # no CSRF token
        assert forged.status_code == 403 and "Interdit" in forged.text
