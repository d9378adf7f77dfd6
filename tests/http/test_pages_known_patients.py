"""A motif closed to new patients on the practitioner page and in the booking flow.

Visitors and patients none of whose profiles the practitioner has seen get a
note to call the practice and no slot to pick; a known patient (or a parent
whose child is known) sees the slots and books them for that profile only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consulta.http.pages_common import slot_value
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient
from tests.http.api_helpers import head

from .known_patients_setup import NOTE_EN, NOTE_FR, Practice, make_practice, section, seen_once
from .pages_client import login, page_client, post_form, slot_values


@pytest.fixture(scope="module")
def practice(services: Services) -> Practice:
    return make_practice(services, "Dr Odile Suivi")


def follow_up_slot(services: Services, practice: Practice) -> str:
    """A free follow-up slot, as the slot buttons write it (read behind the pages' back)."""
    card = services.reads.practitioner(practice.practitioner_id)
    assert card is not None
    now = services.clock.now()
    slots = services.reads.free_slots(card, "follow-up", now, now + timedelta(days=14), now)
    assert slots
    return slot_value(slots[0].mode, slots[0].starts_at)


async def hold(client: Any, practice: Practice, slot: str) -> Any:
    data = {"practitioner_id": str(practice.practitioner_id), "motif_id": "follow-up", "slot": slot}
    return await post_form(client, "/book/hold", data)


async def test_a_visitor_sees_the_note_and_no_slot(
    settings: Settings, services: Services, practice: Practice
) -> None:
    async with page_client(settings, services) as client:
        page = await client.get(f"/practitioners/{practice.practitioner_id}")
        assert page.status_code == 200
        closed, open_ = section(page.text, "Follow-up visit"), section(page.text, "Consultation")
        assert NOTE_FR in closed
        assert not slot_values(closed) and "/slots?motif=" not in closed
        assert slot_values(open_) and NOTE_FR not in open_  # other motifs are untouched
        week = await client.get(f"/practitioners/{practice.practitioner_id}/slots?motif=follow-up")
        assert week.status_code == 200 and NOTE_FR in week.text and not slot_values(week.text)
        client.cookies.set("lang", "en")
        english = await client.get(f"/practitioners/{practice.practitioner_id}")
        assert NOTE_EN in section(english.text, "Follow-up visit") and NOTE_FR not in english.text


async def test_a_patient_not_known_sees_the_note_and_cannot_hold(
    settings: Settings, services: Services, practice: Practice
) -> None:
    slot = follow_up_slot(services, practice)
    async with page_client(settings, services) as client:
        assert (await login(client, practice.stranger_email)).status_code == 303
        page = await client.get(f"/practitioners/{practice.practitioner_id}")
        closed = section(page.text, "Follow-up visit")
        assert NOTE_FR in closed and not slot_values(closed)
        before = head(services)
        refused = await hold(client, practice, slot)  # a slot value from elsewhere: refused, nothing held
        assert refused.status_code == 403 and NOTE_FR in refused.text
        assert head(services) == before
        query = (
            f"practitioner_id={practice.practitioner_id}&motif_id=follow-up&slot={slot.replace('+', '%2B')}"
        )
        chosen = await client.get(f"/book/choose?{query}")
        assert chosen.status_code == 403 and NOTE_FR in chosen.text and 'name="slot"' not in chosen.text


async def test_a_known_patient_sees_the_slots_and_books_one(
    settings: Settings, services: Services, practice: Practice
) -> None:
    async with page_client(settings, services) as client:
        visitor_view = await client.get(f"/practitioners/{practice.practitioner_id}")  # cached for visitors
        assert not slot_values(section(visitor_view.text, "Follow-up visit"))
        assert (await login(client, practice.known_email)).status_code == 303
        page = await client.get(f"/practitioners/{practice.practitioner_id}")
        offered = slot_values(section(page.text, "Follow-up visit"))
        assert offered and NOTE_FR not in page.text
        week = await client.get(f"/practitioners/{practice.practitioner_id}/slots?motif=follow-up")
        assert slot_values(week.text) and NOTE_FR not in week.text
        held = await hold(client, practice, offered[0])
        assert held.status_code == 303 and held.headers["location"] == "/book/confirm"
        confirm = await client.get("/book/confirm")
        assert confirm.status_code == 200 and "Alice Suivie" in confirm.text
        booked = await post_form(client, "/book/confirmation", {"profile_id": str(practice.known_profile)})
        assert booked.status_code == 303 and booked.headers["location"].endswith("/booked"), booked.text
        again = await client.get(f"/practitioners/{practice.practitioner_id}")
        assert offered[0] not in slot_values(section(again.text, "Follow-up visit"))


async def test_a_parent_books_for_the_known_child_only(
    settings: Settings, services: Services, practice: Practice
) -> None:
    async with page_client(settings, services) as client:
        assert (await login(client, practice.parent_email)).status_code == 303
        page = await client.get(f"/practitioners/{practice.practitioner_id}")
        offered = slot_values(section(page.text, "Follow-up visit"))
        assert offered
        assert (await hold(client, practice, offered[0])).status_code == 303
        confirm = await client.get("/book/confirm")
        assert "Chloe Parent" in confirm.text and "Paul Parent" not in confirm.text
        assert str(practice.parent_profile) not in confirm.text
        before = head(services)
        refused = await post_form(client, "/book/confirmation", {"profile_id": str(practice.parent_profile)})
        assert refused.status_code == 422
        assert "cette personne" in refused.text and "pas encore été vue par ce praticien" in refused.text
        assert head(services) == before  # nothing booked, and the hold is kept
        booked = await post_form(client, "/book/confirmation", {"profile_id": str(practice.child_profile)})
        assert booked.status_code == 303 and booked.headers["location"].endswith("/booked"), booked.text
        rows = services.reads.appointments_of_account(practice.parent.account_id)
        assert {r["profile_id"] for r in rows if r["motif_id"] == "follow-up"} == {practice.child_profile}


async def test_a_patient_seen_since_the_page_was_cached_sees_the_slots(
    settings: Settings, services: Services, practice: Practice
) -> None:
    """The page cache keys the answer on the positions: an honoured appointment waited for moves them."""
    app, now = services.app, services.clock.now()
    newcomer, profile_id, email = make_patient(app, now, "Nina", "Bientotvue")
    async with page_client(settings, services) as client:
        assert (await login(client, email)).status_code == 303
        url = f"/practitioners/{practice.practitioner_id}"
        for _ in range(2):  # the second read comes from the cache
            assert NOTE_FR in section((await client.get(url)).text, "Follow-up visit")
        assert services.wait_for(
            seen_once(app, practice.practitioner_id, practice.staff, newcomer, profile_id, now, 2)
        )
        closed = section((await client.get(url)).text, "Follow-up visit")
        assert slot_values(closed) and NOTE_FR not in closed
