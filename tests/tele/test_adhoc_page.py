"""The ad-hoc page: a practitioner finds one of their known patients by name and opens a consultation now."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from uuid import UUID

from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient
from tests.http.pages_client import login, page_client, post_form
from tests.security.helpers import head
from tests.tele.test_pages import known_patient


def booked_not_seen(services: Services, practitioner_id: UUID, now: datetime, first: str, last: str) -> UUID:
    """A patient with an appointment at this practice that has not taken place yet."""
    app = services.app
    patient, profile_id, _ = make_patient(app, now, first, last)
    rules = app.get_practitioner(practitioner_id).rules
    day = rules.local_day(now) + timedelta(days=3)
    while not (slots := list(rules.slots_on(day, "consult", "practice"))):
        day += timedelta(days=1)
    app.book(patient, practitioner_id, "consult", "practice", slots[-1].starts_at, profile_id, now)
    return profile_id


async def test_search_known_patients_and_open_now(
    settings: Settings, services: Services, now: datetime
) -> None:
    staff, profile_id, email = known_patient(services, now, "Maëlle", "Adhoc")
    booked_only = booked_not_seen(services, staff.practitioner_id, now, "Mathis", "Adhoc")
    _, other_profile, _ = known_patient(services, now, "Maël", "Adhoc")  # another practitioner's
    async with page_client(settings, services) as pro:
        await login(pro, email)
        dashboard = await pro.get("/pro/tele")
        assert 'href="/pro/tele/new"' in dashboard.text

        found = await pro.get("/pro/tele/new", params={"name": "adhoc"})
        assert found.status_code == 200
        assert "Adhoc Maëlle ·" in found.text and "Adhoc Maël ·" not in found.text
        assert f'name="profile_id" value="{profile_id}"' in found.text
        assert str(other_profile) not in found.text
        assert str(booked_only) not in found.text  # booked here but never seen: not a known patient
        nobody = await pro.get("/pro/tele/new", params={"name": "Personne-Inconnue"})
        assert "Aucun de vos patients connus" in nobody.text

        opened = await post_form(pro, "/pro/tele/open", {"profile_id": str(profile_id)})
        assert opened.status_code == 200
        assert re.search(r'id="access-code">[0-9A-Z]{5}-[0-9A-Z]{5}<', opened.text)
        assert "/tele/invite/" in opened.text
        rows = (await pro.get("/pro/tele")).text
        assert "Maëlle Adhoc" in rows and 'data-status="scheduled"' in rows


async def test_bad_choices_are_refused_clearly_and_record_nothing(
    settings: Settings, services: Services, now: datetime
) -> None:
    _, _, email = known_patient(services, now, "Noé", "Refus")
    _, foreign_profile, _ = known_patient(services, now, "Olga", "Ailleurs")  # seen by another practitioner
    _, stranger_profile, _ = make_patient(services.app, now, "Paul", "Inconnu")  # seen by nobody
    async with page_client(settings, services) as pro, page_client(settings, services) as patient:
        await login(pro, email)
        for profile in (foreign_profile, stranger_profile, uuid.uuid4()):
            before = head(services)
            refused = await post_form(pro, "/pro/tele/open", {"profile_id": str(profile)})
            assert refused.status_code == 404
            assert "ne fait pas partie de vos patients connus" in refused.text
            assert 'action="/pro/tele/new"' in refused.text  # the search page again, to choose another
            assert head(services) == before
        before = head(services)
        malformed = await post_form(pro, "/pro/tele/open", {"profile_id": "not-an-id"})
        assert malformed.status_code == 400 and "Choisissez un patient" in malformed.text
        assert head(services) == before

        # A patient (or anyone not a practitioner) has no such page.
        await login(patient, make_patient(services.app, now, "Rita", "Curieuse")[2])
        before = head(services)
        assert (await patient.get("/pro/tele/new", params={"name": "Refus"})).status_code == 404
        assert (
            await post_form(patient, "/pro/tele/open", {"profile_id": str(foreign_profile)})
        ).status_code == 404
        assert head(services) == before
