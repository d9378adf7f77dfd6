"""A real browser: a visitor searches, books a slot (registering on the way) and sees it in "my appointments".

Drives the Debian Chromium with Playwright against the app served by uvicorn
on 127.0.0.1. Skips where /usr/bin/chromium is missing, except under CI=true.
Set CONSULTA_SCREENSHOT=docs/screenshot.png to save the practitioner page's
picture for the README.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_practitioner, unique_email

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip

pytestmark = pytest.mark.browser


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true needs /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium here (apt-get install chromium to run browser tests)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(settings: Settings, services: Services) -> Iterator[str]:
    """The real app under uvicorn, in a thread, sharing the test session's services."""
    require_chromium()
    import uvicorn

    from consulta.http.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port, log_level="warning")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, name="browser-test-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not web.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    web.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:  # Playwright gives the browser a fresh temporary profile
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
    .filter(el => el.labels === null || el.labels.length === 0).map(el => el.name || el.id)"""


def assert_labelled(page: Any) -> None:
    """Every form field of the page has a label, and the page says its language."""
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate("document.documentElement.lang") in ("fr", "en")


def test_visitor_searches_books_and_sees_the_appointment(
    server: str, browser: Any, services: Services, tmp_path: Path
) -> None:
    now = services.clock.now()
    _pid, _actor, position = make_practitioner(
        services.app, now, name="Dr Camille Navigateur", specialty="General practitioner", city="Bordeaux"
    )
    services.wait_for(position)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", timezone_id="Europe/Paris"
    )
    page = context.new_page()
    try:
        page.goto(server + "/")
        assert_labelled(page)
        page.get_by_label("Nom, spécialité ou ville").fill("Navigateur")
        page.get_by_role("button", name="Rechercher").click()
        page.get_by_role("link", name="Dr Camille Navigateur", exact=True).click()
        page.wait_for_selector("button.slot")
        assert "(Europe/Paris)" in page.content()
        picture = tmp_path / "practitioner.png"
        page.screenshot(path=str(picture), full_page=False)
        assert picture.stat().st_size > 10_000
        if os.environ.get("CONSULTA_SCREENSHOT"):
            page.screenshot(path=os.environ["CONSULTA_SCREENSHOT"], full_page=False)
        first_slot = page.locator("button.slot").first
        chosen_time = first_slot.locator("time").inner_text()
        first_slot.click()
        # A visitor is asked to log in; they create an account instead and come back to the slot.
        page.get_by_role("link", name="Créer un compte").last.click()
        assert_labelled(page)
        page.get_by_label("Prénom").fill("Jeanne")
        page.get_by_label("Nom", exact=True).fill("Navigatrice")
        page.get_by_label("Date de naissance").fill("1988-04-12")
        page.get_by_label("E-mail").fill(unique_email("browser"))
        page.get_by_label("Mot de passe").fill("correct horse battery")
        page.get_by_role("button", name="Créer mon compte").click()
        page.get_by_role("button", name="Garder ce créneau et continuer").click()
        assert page.url.endswith("/book/confirm")
        assert chosen_time in page.locator("dl.facts").inner_text()
        assert_labelled(page)
        page.get_by_role("button", name="Confirmer le rendez-vous").click()
        page.get_by_role("heading", name="Rendez-vous confirmé").wait_for()
        assert page.get_by_role("link", name="Ajouter à mon agenda (.ics)").is_visible()
        page.get_by_role("link", name="Mes rendez-vous").first.click()
        assert_labelled(page)
        upcoming = page.locator("li.appointment")
        assert upcoming.count() == 1
        text = upcoming.first.inner_text()
        assert "Dr Camille Navigateur" in text and chosen_time in text
    finally:
        context.close()


def test_a_reader_in_another_zone_sees_both_times(server: str, browser: Any, services: Services) -> None:
    now = services.clock.now()
    pid, _actor, position = make_practitioner(services.app, now, name="Dr Lucie Fuseau", city="Rennes")
    services.wait_for(position)
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    page = context.new_page()
    try:
        page.goto(f"{server}/practitioners/{pid}")
        slot = page.locator("button.slot").first
        practice_time = slot.locator("time").inner_text()
        instant = slot.locator("time").get_attribute("datetime")
        assert instant is not None
        from datetime import datetime
        from zoneinfo import ZoneInfo

        there = datetime.fromisoformat(instant).astimezone(ZoneInfo("America/New_York")).strftime("%I:%M")
        extra = slot.locator(".local-time").inner_text()
        assert "America/New_York" in extra and there.lstrip("0") in extra
        assert practice_time == datetime.fromisoformat(instant).astimezone(ZoneInfo("Europe/Paris")).strftime(
            "%H:%M"
        )
    finally:
        context.close()
