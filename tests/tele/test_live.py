"""The live pages' event streams over a real server: who may open them, what they push, presence, session end."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.tele.live_server import (
    EVENT_STREAM,
    EventReader,
    open_now,
    patient_in_waiting_room,
    post,
    practitioner_session,
    serve_web,
)
from tests.tele.test_pages import known_patient

PRESENCE = 2  # seconds: a stream ticks every 2/3 s


@pytest.fixture(scope="module")
def web(settings: Settings, services: Services) -> Iterator[str]:
    with serve_web(settings, services, PRESENCE) as origin:
        yield origin


def test_streams_are_only_for_their_own_people(web: str, services: Services) -> None:
    _, profile_id, email = known_patient(services, services.clock.now(), "Gaspard", "Streamé")
    _, _, other_email = known_patient(services, services.clock.now(), "Hélène", "Autre")
    pro, other = practitioner_session(web, email), practitioner_session(web, other_email)
    patient = patient_in_waiting_room(web, open_now(pro, profile_id), "Gaspard", "Streamé")
    anonymous = httpx.Client(base_url=web)
    try:
        for client, url in [
            (anonymous, "/pro/tele/events"), (anonymous, "/tele/events"), (patient, "/pro/tele/events"),
            (pro, "/tele/events"), (other, "/tele/events"),
        ]:  # fmt: skip
            refused = client.get(url, headers=EVENT_STREAM)
            assert refused.status_code == 404, (url, refused.status_code)
            assert "text/event-stream" not in refused.headers["content-type"]
        assert pro.get("/pro/tele/events").status_code == 406  # no endless answer to a plain GET

        theirs = EventReader(other, "/pro/tele/events")
        mine = EventReader(pro, "/pro/tele/events")
        assert "Gaspard Streamé" in mine.until("rows")
        foreign = theirs.until("rows")
        assert "Gaspard" not in foreign and "data-consultation" not in foreign  # they have none open
        mine.stop(), theirs.stop()

        # A patient who entered a code but has not confirmed their identity gets no stream yet.
        early = httpx.Client(base_url=web, follow_redirects=False)
        early.get("/")
        _, late_profile, late_email = known_patient(services, services.clock.now(), "Inès", "Tôt")
        late_pro = practitioner_session(web, late_email)
        assert post(early, "/join/code", {"code": open_now(late_pro, late_profile)}).status_code == 303
        assert early.get("/tele/events", headers=EVENT_STREAM).status_code == 404
    finally:
        for client in (pro, other, patient, anonymous):
            client.close()


def test_dashboard_shows_arrival_lost_connection_and_return(web: str, services: Services) -> None:
    _, profile_id, email = known_patient(services, services.clock.now(), "Jules", "Présent")
    pro = practitioner_session(web, email)
    dashboard = EventReader(pro, "/pro/tele/events")
    try:
        code = open_now(pro, profile_id)
        dashboard.until("rows", lambda html: 'data-status="scheduled"' in html)
        patient = patient_in_waiting_room(web, code, "jules", "PRÉSENT")  # its page load is a heartbeat
        arrived = dashboard.until("rows", lambda html: 'data-status="waiting"' in html)
        assert "Jules Présent" in arrived and 'data-connection="here"' in arrived

        # No stream and no page load from the patient: presence lapses after PRESENCE seconds.
        dashboard.until("rows", lambda html: 'data-connection="lost"' in html, seconds=PRESENCE + 5)

        assert patient.get("/tele/selftest").status_code == 200  # the self-test page counts as present too
        dashboard.until("rows", lambda html: 'data-connection="here"' in html, seconds=PRESENCE + 5)
        dashboard.until("rows", lambda html: 'data-connection="lost"' in html, seconds=PRESENCE + 5)

        room = EventReader(patient, "/tele/events")  # the patient's browser is back
        assert json.loads(room.until("status")) == {"next": "/tele/waiting", "here": True}
        back = dashboard.until("rows", lambda html: 'data-connection="here"' in html, seconds=PRESENCE + 5)
        assert "Connexion perdue" not in back and "Connection lost" not in back
        # While its stream runs, the patient stays present well past the presence time.
        with pytest.raises(AssertionError):
            dashboard.until("rows", lambda html: 'data-connection="lost"' in html, seconds=PRESENCE * 2)
        room.stop()
    finally:
        dashboard.stop()
        pro.close()


def test_patient_stream_follows_admission_and_end(web: str, services: Services) -> None:
    _, profile_id, email = known_patient(services, services.clock.now(), "Karim", "Admis")
    pro = practitioner_session(web, email)
    patient = patient_in_waiting_room(web, open_now(pro, profile_id), "Karim", "Admis")
    room = EventReader(patient, "/tele/events")
    try:
        assert json.loads(room.until("status"))["next"] == "/tele/waiting"
        rows = pro.get("/pro/tele").text
        consultation_id = rows.split('data-consultation="')[1].split('"')[0]
        assert post(pro, f"/pro/tele/{consultation_id}/admit").status_code == 303
        assert json.loads(room.until("status", seconds=5))["next"] == "/tele/call"
        assert post(pro, f"/pro/tele/{consultation_id}/end", {"outcome": "honoured"}).status_code == 303
        assert json.loads(room.until("status", seconds=5))["next"] == "/tele/ended"
        assert room.until("closed") == "200"  # the stream ends with the consultation
        assert patient.get("/tele/events", headers=EVENT_STREAM).status_code == 404
    finally:
        room.stop()
        pro.close()


def test_a_stream_ends_with_its_session(web: str, services: Services) -> None:
    _, _, email = known_patient(services, services.clock.now(), "Léa", "Sortie")
    pro = practitioner_session(web, email)
    dashboard = EventReader(pro, "/pro/tele/events")
    try:
        dashboard.until("rows")
        assert post(pro, "/logout").status_code == 303
        dashboard.until("expired", seconds=5)
        assert dashboard.until("closed") == "200"
        assert pro.get("/pro/tele/events", headers=EVENT_STREAM).status_code in (303, 404)

        # A password reset ends every session of the account, open streams included.
        pro = practitioner_session(web, email)
        dashboard = EventReader(pro, "/pro/tele/events")
        dashboard.until("rows")
        token = services.app.request_password_reset(email, services.clock.now())
        assert token is not None
        owner = httpx.Client(base_url=web)
        owner.get("/")
        assert (
            post(
                owner, f"/password/reset/{token[0]}/done", {"password": "a brand new passphrase"}
            ).status_code
            == 303
        )
        dashboard.until("expired", seconds=5)
        assert dashboard.until("closed") == "200"
        owner.close()
    finally:
        dashboard.stop()
        pro.close()
