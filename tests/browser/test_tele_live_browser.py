"""Real Chromium, two browser contexts: the practitioner's dashboard follows the waiting room live (one
EventSource, no polling, no reload), a killed patient's browser shows as "connection lost" once its presence
lapses, the patient comes back, and the waiting page moves to the call when admitted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.tele.live_server import open_now, practitioner_session, serve_web
from tests.tele.test_browser import CHROMIUM, FLAGS, IN_CI
from tests.tele.test_pages import known_patient

PRESENCE = 3  # seconds without a heartbeat before "connection lost" (30 in production)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web(settings: Settings, services: Services) -> Iterator[str]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true needs /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium here")
    with serve_web(settings, services, PRESENCE, media=True) as origin:
        yield origin


def check_in(page: Any, origin: str, code: str) -> None:
    page.goto(origin + "/join")
    page.get_by_label("Code d'accès").fill(code)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Prénom").fill("Romane")
    page.get_by_label("Nom", exact=True).fill("En-Direct")
    page.get_by_label("Date de naissance").fill("1985-05-17")
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("J'accepte une consultation par vidéo.").check()
    page.get_by_role("button", name="Aller en salle d'attente").click()
    page.wait_for_url(re.compile(r"/tele/waiting$"))


def test_dashboard_live_presence_lapse_return_and_admission(web: str, services: Services) -> None:
    from playwright.sync_api import sync_playwright

    _staff, profile_id, email = known_patient(services, services.clock.now(), "Romane", "En-Direct")
    pro_http = practitioner_session(web, email)
    code = open_now(pro_http, profile_id)
    requests: list[tuple[str, str]] = []  # (resource type, path) of everything the dashboard asks

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            pro = chromium.new_context(locale="fr-FR")
            pro.add_cookies(
                [{"name": c.name, "value": c.value or "", "url": web} for c in pro_http.cookies.jar]
            )
            dashboard = pro.new_page()
            dashboard.on("request", lambda r: requests.append((r.resource_type, r.url.removeprefix(web))))
            dashboard.goto(web + "/pro/tele")
            row = dashboard.locator('tr:has-text("Romane En-Direct")')
            row.and_(dashboard.locator('[data-status="scheduled"]')).wait_for()

            # The patient checks in from another browser: the row turns to "waiting" in place.
            patient_context = chromium.new_context(locale="fr-FR")
            patient = patient_context.new_page()
            check_in(patient, web, code)
            row.and_(dashboard.locator('[data-status="waiting"][data-connection="here"]')).wait_for(
                timeout=3_000
            )
            assert "En attente depuis" in row.inner_text()
            patient.locator("#live-state", has_text="vous voit").wait_for(timeout=5_000)

            # The patient's browser dies without a word (no beacon): "connection lost" after the presence time.
            cookies = patient_context.cookies()
            patient_context.close()
            lost = row.and_(dashboard.locator('[data-connection="lost"]'))
            lost.wait_for(timeout=(PRESENCE + 5) * 1000)
            assert "Connexion perdue" in lost.inner_text()

            # They come back (same session): present again, then admitted, and their page moves to the call.
            patient_context = chromium.new_context(locale="fr-FR")
            patient_context.add_cookies(cookies)
            patient = patient_context.new_page()
            patient.goto(web + "/tele/waiting")
            row.and_(dashboard.locator('[data-connection="here"]')).wait_for(timeout=(PRESENCE + 5) * 1000)
            streams = [path for kind, path in requests if kind == "eventsource"]
            fetched = [path for kind, path in requests if kind in ("fetch", "xhr")]
            documents = [path for kind, path in requests if kind == "document"]
            assert streams == ["/pro/tele/events"], requests  # one stream the whole time
            assert fetched == [], fetched  # and no polling
            assert documents == ["/pro/tele"], documents  # nor any reload

            row.get_by_role("button", name="Faire entrer").click()
            dashboard.wait_for_url(re.compile(r"/pro/tele/[0-9a-f-]+/call$"))
            patient.wait_for_url(re.compile(r"/tele/call$"), timeout=5_000)
            patient_context.close()
        finally:
            chromium.close()
            pro_http.close()


def test_waiting_room_without_javascript_refreshes_itself_into_the_call(web: str, services: Services) -> None:
    from playwright.sync_api import sync_playwright

    from tests.tele.live_server import post

    _staff, profile_id, email = known_patient(services, services.clock.now(), "Romane", "En-Direct")
    pro = practitioner_session(web, email)
    code = open_now(pro, profile_id)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            patient = chromium.new_context(locale="fr-FR", java_script_enabled=False).new_page()
            check_in(patient, web, code)
            assert patient.get_by_role("link", name="Actualiser cette page").is_visible()
            rows = pro.get("/pro/tele").text
            consultation_id = rows.split('data-consultation="')[1].split('"')[0]
            assert post(pro, f"/pro/tele/{consultation_id}/admit").status_code == 303
            patient.wait_for_url(
                re.compile(r"/tele/call$"), timeout=20_000
            )  # the 15 s refresh, then a redirect
        finally:
            chromium.close()
            pro.close()
