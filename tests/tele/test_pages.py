"""The teleconsultation pages over the real app: invitation link, code, identity, consent, waiting room, admit."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner
from tests.http.pages_client import login, page_client, post_form


def known_patient(
    services: Services, now: datetime, first: str = "Alice", last: str = "Durand"
) -> tuple[Any, Any, Any]:
    """A practitioner and a patient they have seen once (an honoured appointment): a consultation can open now."""
    app = services.app
    practitioner_id, staff, _ = make_practitioner(app, now)
    patient, profile_id, _ = make_patient(app, now, first, last)
    rules = app.get_practitioner(practitioner_id).rules
    day: date = rules.local_day(now) + timedelta(days=2)
    while not (slots := list(rules.slots_on(day, "consult", "practice"))):
        day += timedelta(days=1)
    booked = app.book(patient, practitioner_id, "consult", "practice", slots[0].starts_at, profile_id, now)
    app.mark_honoured(staff, booked.id, slots[0].starts_at + timedelta(minutes=1))
    email = app.get_account(staff.account_id).email
    return staff, profile_id, email


async def open_by_page(client: Any, profile_id: Any) -> tuple[str, str]:
    opened = await post_form(client, "/pro/tele/open", {"profile_id": str(profile_id)})
    assert opened.status_code == 200, opened.status_code
    code = re.search(r'id="access-code">([0-9A-Z-]+)<', opened.text)
    link = re.search(r"/tele/invite/([A-Za-z0-9_-]+)<", opened.text)
    assert code and link
    return code.group(1), link.group(1)


async def test_from_invitation_link_to_admission(
    settings: Settings, services: Services, now: datetime
) -> None:
    _staff, profile_id, email = known_patient(services, now)
    async with page_client(settings, services) as pro, page_client(settings, services) as patient:
        assert (await login(pro, email)).status_code == 303
        _code, link = await open_by_page(pro, profile_id)

        shown = await patient.get(f"/tele/invite/{link}", follow_redirects=False)
        assert shown.status_code == 200 and f"/tele/invite/{link}/use" in shown.text  # a GET uses nothing
        entered = await post_form(patient, f"/tele/invite/{link}/use")
        assert (
            entered.status_code == 303 and entered.headers["location"] == "/tele/identity"
        )  # the token leaves the URL
        again = await post_form(patient, f"/tele/invite/{link}/use")
        assert again.status_code == 410 and "déjà servi" in again.text

        wrong = await post_form(
            patient,
            "/tele/identity/check",
            {"first_name": "Alice", "last_name": "Durand", "birth_date": "1990-01-01"},
        )
        assert wrong.status_code == 400
        right = await post_form(
            patient,
            "/tele/identity/check",
            {"first_name": "alice", "last_name": "DURAND", "birth_date": "1985-05-17"},
        )
        assert right.headers["location"] == "/tele/consent"
        consent_page = await patient.get("/tele/consent")
        assert "15" in consent_page.text and "112" in consent_page.text
        assert (await post_form(patient, "/tele/consent/record", {})).status_code == 400  # no box ticked
        consented = await post_form(patient, "/tele/consent/record", {"consent": "yes"})
        assert consented.headers["location"] == "/tele/waiting"
        assert (await patient.get("/tele/waiting", follow_redirects=False)).status_code == 200
        assert (await patient.get("/tele/call", follow_redirects=False)).headers["location"] == "/tele/waiting"
        assert (await post_form(patient, "/tele/media-token")).status_code == 409  # not admitted yet

        rows = await pro.get("/pro/tele")
        assert "Alice Durand" in rows.text and "/admit" in rows.text
        consultation_id = re.search(r'data-consultation="([0-9a-f-]+)"', rows.text).group(1)  # type: ignore[union-attr]
        admitted = await post_form(pro, f"/pro/tele/{consultation_id}/admit")
        assert admitted.headers["location"] == f"/pro/tele/{consultation_id}/call"
        assert (await patient.get("/tele/waiting", follow_redirects=False)).headers["location"] == "/tele/call"
        grant = (await post_form(patient, "/tele/media-token")).json()
        assert grant["path"] == "/media/ws" and grant["ice_servers"] == [] and grant["token"]
        assert (await post_form(patient, "/tele/left")).status_code == 204
        story = [type(e).__name__ for e in services.app.repository.event_store.get(UUID(consultation_id))]
        assert story[-2:] == ["Joined", "Left"]

        ended = await post_form(pro, f"/pro/tele/{consultation_id}/end", {"outcome": "honoured"})
        assert ended.headers["location"] == "/pro/tele"
        assert (await patient.get("/tele/call", follow_redirects=False)).headers["location"] == "/tele/ended"


async def test_codes_are_checked_and_attempts_limited_per_address(
    settings: Settings, services: Services, now: datetime
) -> None:
    _staff, profile_id, email = known_patient(services, now, "Bruno", "Garcia")
    async with page_client(settings, services) as pro, page_client(settings, services) as patient:
        await login(pro, email)
        code, _ = await open_by_page(pro, profile_id)
        joined = await post_form(patient, "/join/code", {"code": code.lower()})
        assert joined.status_code == 303 and joined.headers["location"] == "/tele/identity"
        statuses = [
            (await post_form(patient, "/join/code", {"code": "AAAAA-AAAAA"})).status_code for _ in range(6)
        ]
        assert statuses[:5] == [400] * 5 and statuses[5] == 429
        refused = await post_form(patient, "/join/code", {"code": code})  # even the right code, for a while
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


async def test_a_foreign_practitioner_sees_nothing(
    settings: Settings, services: Services, now: datetime
) -> None:
    _, profile_id, email = known_patient(services, now, "Chloé", "Martin")
    _, _, other_email = known_patient(services, now, "Denis", "Roy")
    async with page_client(settings, services) as pro, page_client(settings, services) as other:
        await login(pro, email)
        await login(other, other_email)
        await open_by_page(pro, profile_id)
        rows = await pro.get("/pro/tele")
        consultation_id = re.search(r'data-consultation="([0-9a-f-]+)"', rows.text).group(1)  # type: ignore[union-attr]
        assert "Chloé" not in (await other.get("/pro/tele")).text
        assert (await post_form(other, f"/pro/tele/{consultation_id}/admit")).status_code == 404
        assert (await post_form(other, f"/pro/tele/{consultation_id}/media-token")).status_code == 404
        opened = await post_form(other, "/pro/tele/open", {"profile_id": str(profile_id)})
        assert opened.status_code == 404  # not their patient
