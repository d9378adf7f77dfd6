"""Real headless Chromium: the patient joins by code and waits, the practitioner's page shows it live and admits,
and the patient's browser reports the DTLS transport connected and video frames decoded (getStats).

Both sides are browsers (Debian's chromium, fake camera and microphone) against the web app served by uvicorn,
with the media service in the same process on /media/ws, as in `consulta dev`.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from consulta.media.config import MediaConfig
from consulta.media.server import attach_media
from consulta.projections.waiting_room import WaitingRoomQueries
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import totp_code
from tests.tele.conftest import free_port
from tests.tele.test_pages import known_patient

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream", "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-quic",
]  # fmt: skip
STATS = """async () => {
  const pc = window.consultaPeer;
  if (!pc) { return {dtls: null, frames: 0}; }
  const report = await pc.getStats();
  let dtls = null, frames = 0;
  report.forEach(r => {
    if (r.type === "transport") { dtls = r.dtlsState; }
    if (r.type === "inbound-rtp" && r.kind === "video") { frames += r.framesDecoded || 0; }
  });
  return {dtls, frames};
}"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def web(settings: Settings, services: Services) -> Iterator[str]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("CI=true needs /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium here")
    import uvicorn

    from consulta.http.app import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = create_app(settings, services)
    attach_media(app, MediaConfig(key=b"browser-test-media-key", allowed_origins=(origin,)),
                 lambda: services.clock.now().timestamp())  # fmt: skip
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=65536)
    )
    thread = threading.Thread(target=server.run, name="tele-browser-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    yield origin
    server.should_exit = True
    thread.join(timeout=10)


def practitioner_session(origin: str, email: str) -> httpx.Client:
    """Log in over HTTP (password, then the authenticator code the first login sets up)."""
    client = httpx.Client(base_url=origin, follow_redirects=False)
    client.get("/")

    def post(url: str, data: dict[str, str]) -> httpx.Response:
        return client.post(url, data={**data, "_csrf_token": client.cookies["csrftoken"]})

    assert post("/login", {"email": email, "password": "correct horse battery"}).status_code == 303
    key = re.search(r'id="totp-key" readonly value="([A-Z2-7]+)"', client.get("/login/second-factor").text)
    assert key, "the first login shows the authenticator key"
    assert post("/login/code", {"code": totp_code(key.group(1))}).status_code == 303
    return client


def opened_id(url: str) -> str:
    found = re.search(r"/pro/tele/([0-9a-f-]+)/call$", url)
    assert found, url
    return found.group(1)


def video_received(page: Any, seconds: float = 45) -> dict[str, Any]:
    """The page's getStats() once DTLS is connected and more than 10 video frames were decoded (or at the deadline)."""
    deadline, stats = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        stats = page.evaluate(STATS)
        if stats["dtls"] == "connected" and stats["frames"] > 10:
            break
        time.sleep(0.5)
    return stats


def test_patient_joins_by_code_waits_is_admitted_and_receives_video(
    web: str, settings: Settings, services: Services
) -> None:
    from playwright.sync_api import sync_playwright

    _staff, profile_id, email = known_patient(services, services.clock.now(), "Élodie", "Navigatrice")
    pro_http = practitioner_session(web, email)
    opened = pro_http.post(
        "/pro/tele/open", data={"profile_id": str(profile_id), "_csrf_token": pro_http.cookies["csrftoken"]}
    )
    code = re.search(r'id="access-code">([0-9A-Z-]+)<', opened.text).group(1)  # type: ignore[union-attr]

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            pro = chromium.new_context(locale="fr-FR")
            pro.add_cookies(
                [{"name": c.name, "value": c.value or "", "url": web} for c in pro_http.cookies.jar]
            )
            dashboard = pro.new_page()
            dashboard.goto(web + "/pro/tele")
            dashboard.locator('tr[data-status="scheduled"]').wait_for()

            patient = chromium.new_context(locale="fr-FR").new_page()
            patient.goto(web + "/join")
            patient.get_by_label("Code d'accès").fill(code.lower())
            patient.get_by_role("button", name="Continuer").click()
            patient.get_by_label("Prénom").fill("elodie")
            patient.get_by_label("Nom", exact=True).fill("Navigatrice")
            patient.get_by_label("Date de naissance").fill("1985-05-17")
            patient.get_by_role("button", name="Continuer").click()
            assert "112" in patient.content()
            patient.get_by_label("J'accepte une consultation par vidéo.").check()
            patient.get_by_role("button", name="Aller en salle d'attente").click()
            assert patient.url.endswith("/tele/waiting")

            # The self-test: the patient's own picture comes back through the media service.
            selftest = patient.context.new_page()
            selftest.goto(web + "/tele/selftest")
            echoed = video_received(selftest)
            assert echoed["dtls"] == "connected" and echoed["frames"] > 10, echoed
            selftest.close()

            # The practitioner's page updates by itself: no reload.
            waiting = dashboard.locator('tr[data-status="waiting"]')
            waiting.wait_for(timeout=10_000)
            assert (
                "Élodie Navigatrice" in waiting.inner_text() and "En attente depuis" in waiting.inner_text()
            )
            waiting.get_by_role("button", name="Faire entrer").click()
            dashboard.wait_for_url(re.compile(r"/pro/tele/[0-9a-f-]+/call$"))
            dashboard_url = dashboard.url

            patient.wait_for_url(
                re.compile(r"/tele/call$"), timeout=10_000
            )  # the waiting room moves on by itself
            stats = video_received(patient)
            assert stats["dtls"] == "connected" and stats["frames"] > 10, stats
            practitioner_stats = dashboard.evaluate(STATS)
            assert practitioner_stats["dtls"] == "connected", practitioner_stats
            assert httpx.get(web + "/media/healthz").json() == {"status": "ok", "rooms": 1, "peers": 2}

            # Text chat over the data channel, both ways.
            patient.get_by_label("Texte du message").fill("Bonjour docteur")
            patient.get_by_role("button", name="Envoyer").click()
            dashboard.locator("#chat-log li", has_text="Bonjour docteur").wait_for(timeout=10_000)
            dashboard.get_by_label("Texte du message").fill("Bonjour, je vous vois")
            dashboard.get_by_role("button", name="Envoyer").click()
            patient.locator("#chat-log li", has_text="Bonjour, je vous vois").wait_for(timeout=10_000)

            # A reload: the patient's page asks for a fresh token and gets the same call back.
            patient.reload()
            patient.wait_for_function("() => window.consultaPeer !== undefined")
            stats = video_received(patient)
            assert stats["dtls"] == "connected" and stats["frames"] > 10, stats
            assert httpx.get(web + "/media/healthz").json()["peers"] == 2  # the old peer was replaced

            # The practitioner ends it: the patient's page follows; the read model has the story's durations.
            dashboard.get_by_role("button", name="Terminer : consultation effectuée").click()
            dashboard.wait_for_url(re.compile(r"/pro/tele$"))
            patient.wait_for_url(re.compile(r"/tele/ended$"), timeout=10_000)
            consultation_id = UUID(opened_id(dashboard_url))
            row = WaitingRoomQueries(services.reads).one(consultation_id)
            assert row is not None and row["outcome"] == "honoured" and row["patient_joins"] == 2
            assert row["wait_seconds"] >= 0 and row["call_seconds"] > 0
        finally:
            chromium.close()
            pro_http.close()
