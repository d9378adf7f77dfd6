"""A patient registers, holds a slot, confirms, gets the .ics, sees, moves and cancels the appointment."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from consulta.clock import FixedClock
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner, unique_email

from .pages_client import PASSWORD, login, page_client, post_form, slot_instant, slot_values


@pytest.fixture(scope="module")
def practitioner(services: Services) -> UUID:
    pid, _actor, position = make_practitioner(services.app, services.clock.now(), name="Dr Ines Pagebook")
    services.wait_for(position)
    return pid


def count_events(settings: Settings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {settings.events_schema}.consulta_events").fetchone()
        assert row is not None
        return int(row[0])


async def register(client: Any, email: str, next_url: str = "") -> Any:
    return await post_form(
        client,
        "/register",
        {
            "email": email,
            "password": PASSWORD,
            "first_name": "Lea",
            "last_name": "Pageflow",
            "birth_date": "1990-02-03",
            "next": next_url,
        },
    )


async def test_register_hold_confirm_and_see_it(
    settings: Settings, services: Services, practitioner: UUID
) -> None:
    async with page_client(settings, services) as client:
        before = client.cookies.get("session")
        registered = await register(client, unique_email("pages"))
        assert registered.status_code == 303 and registered.headers["location"] == "/my/appointments"
        assert client.cookies.get("session") not in (None, before)
        page = await client.get(f"/practitioners/{practitioner}")
        chosen = slot_values(page.text)[0]
        held = await post_form(
            client,
            "/book/hold",
            {"practitioner_id": str(practitioner), "motif_id": "consult", "slot": chosen},
        )
        assert held.status_code == 303 and held.headers["location"] == "/book/confirm"
        # Held: another visitor no longer sees it.
        async with page_client(settings, services) as other:
            assert chosen not in slot_values((await other.get(f"/practitioners/{practitioner}")).text)
        confirm = await client.get("/book/confirm")
        assert confirm.status_code == 200 and "(Europe/Paris)" in confirm.text
        profile_id = re.search(r'name="profile_id" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
        booked = await post_form(client, "/book/confirmation", {"profile_id": profile_id})
        assert booked.status_code == 303
        landing = await client.get(booked.headers["location"])
        assert landing.status_code == 200 and "calendar.ics" in landing.text
        appointment_id = booked.headers["location"].split("/")[3]
        ics = await client.get(f"/my/appointments/{appointment_id}/calendar.ics")
        assert ics.headers["content-type"].startswith("text/calendar")
        body = ics.text
        start = slot_instant(chosen).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        assert f"UID:{appointment_id}@" in body and f"DTSTART:{start}" in body and "DTEND:" in body
        assert "Consultation" not in body  # no motif: nothing about health in the summary
        assert body.endswith("\r\n")
        mine = await client.get("/my/appointments")
        assert appointment_id in mine.text and "Dr Ines Pagebook" in mine.text
        # The confirmation used the hold: it is gone from the session.
        assert (await client.get("/book/confirm")).status_code == 404


async def test_visitor_is_sent_to_log_in_and_back(
    settings: Settings, services: Services, practitioner: UUID
) -> None:
    _actor, _profile, email = make_patient(services.app, services.clock.now(), "Paul", "Pagelogin")
    async with page_client(settings, services) as client:
        chosen = slot_values((await client.get(f"/practitioners/{practitioner}")).text)[1]
        events = count_events(settings)
        held = await post_form(
            client,
            "/book/hold",
            {"practitioner_id": str(practitioner), "motif_id": "consult", "slot": chosen},
        )
        assert held.status_code == 303 and held.headers["location"].startswith("/login?next=")
        assert count_events(settings) == events
        login_page = await client.get(held.headers["location"])
        login_form = login_page.text.split('action="/login"', 1)[1]
        next_url = re.search(r'name="next" value="([^"]+)"', login_form).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        logged = await login(client, email, next_url=next_url)
        assert logged.status_code == 303 and logged.headers["location"].startswith("/book/choose?")
        choose = await client.get(logged.headers["location"])
        assert choose.status_code == 200 and chosen in slot_values(choose.text)


async def test_cancel_and_reschedule(settings: Settings, services: Services, practitioner: UUID) -> None:
    patient, _profile, email = make_patient(services.app, services.clock.now(), "Rose", "Pagemove")
    async with page_client(settings, services) as client:
        await login(client, email)
        values = slot_values((await client.get(f"/practitioners/{practitioner}/slots?motif=long")).text)
        first, later = values[-2], values[-1]  # late in the week: far from the cut-off
        await post_form(
            client, "/book/hold", {"practitioner_id": str(practitioner), "motif_id": "long", "slot": first}
        )
        confirm = await client.get("/book/confirm")
        profile_id = re.search(r'name="profile_id" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
        booked = await post_form(client, "/book/confirmation", {"profile_id": profile_id})
        appointment_id = booked.headers["location"].split("/")[3]
        choices = await client.get(f"/my/appointments/{appointment_id}/reschedule")
        assert choices.status_code == 200 and first not in slot_values(choices.text)
        moved = await post_form(client, f"/my/appointments/{appointment_id}/new-time", {"slot": later})
        assert moved.status_code == 303
        mine = await client.get(moved.headers["location"])
        card = services.reads.practitioner(practitioner)
        assert card is not None
        assert slot_instant(later).astimezone(card.rules.zone).strftime("%H:%M") in mine.text
        row = services.reads.appointment_for_account(patient.account_id, UUID(appointment_id))
        assert row is not None and row["starts_at"] == slot_instant(later)
        cancelled = await post_form(client, f"/my/appointments/{appointment_id}/cancel", {"reason": ""})
        assert cancelled.status_code == 303
        after = await client.get(cancelled.headers["location"])
        assert "Annulé" in after.text or "Cancelled" in after.text
        # The freed slot is offered again.
        again = await client.get(f"/practitioners/{practitioner}/slots?motif=long")
        assert later in slot_values(again.text)


async def test_taken_slot_and_bad_input_record_nothing(
    settings: Settings, services: Services, practitioner: UUID
) -> None:
    _a, _p, first_email = make_patient(services.app, services.clock.now(), "Anna", "Pagefirst")
    _b, _q, second_email = make_patient(services.app, services.clock.now(), "Bert", "Pagesecond")
    async with page_client(settings, services) as first, page_client(settings, services) as second:
        await login(first, first_email)
        await login(second, second_email)
        chosen = slot_values((await first.get(f"/practitioners/{practitioner}")).text)[2]
        form = {"practitioner_id": str(practitioner), "motif_id": "consult", "slot": chosen}
        assert (await post_form(first, "/book/hold", form)).status_code == 303
        events = count_events(settings)
        taken = await post_form(second, "/book/hold", form)
        assert taken.status_code == 409 and "<h1>" in taken.text
        bad_forms = [
            {**form, "practitioner_id": "nope"},
            {**form, "practitioner_id": "00000000-0000-0000-0000-000000000009"},
            {**form, "motif_id": "unknown"},
            {**form, "slot": "practice|yesterday"},
            {**form, "slot": "teleport|" + chosen.split("|")[1]},
            {**form, "slot": "practice|2020-01-06T08:00:00+00:00"},
            {**form, "slot": chosen.split("|")[0] + "|" + chosen.split("|")[1].replace(":00+", ":07+", 1)},
            {"practitioner_id": str(practitioner)},
        ]
        for bad in bad_forms:
            response = await post_form(second, "/book/hold", bad)
            assert 400 <= response.status_code < 500, bad
            assert response.headers["content-type"].startswith("text/html")
        assert (await post_form(second, "/book/confirmation", {"profile_id": "x"})).status_code == 409
        assert (await second.get("/my/appointments/not-a-uuid/booked")).status_code == 404
        assert (await second.get(f"/my/appointments/{UUID(int=5)}/booked")).status_code == 404
        assert count_events(settings) == events


async def test_login_errors_and_logout(settings: Settings, services: Services) -> None:
    _a, _p, email = make_patient(services.app, services.clock.now(), "Zoe", "Pagelogout")
    async with page_client(settings, services) as client:
        wrong = await login(client, email, "wrong password!")
        assert wrong.status_code == 401 and 'role="alert"' in wrong.text
        assert (await client.get("/my/appointments", follow_redirects=False)).status_code == 303
        assert (await login(client, email)).status_code == 303
        assert (await client.get("/my/appointments")).status_code == 200
        out = await post_form(client, "/logout")
        assert out.status_code == 303
        back = await client.get("/my/appointments", follow_redirects=False)
        assert back.status_code == 303 and back.headers["location"].startswith("/login")
        taken = await register(client, email)
        assert taken.status_code == 409
        bad_date = await post_form(
            client,
            "/register",
            {
                "email": unique_email(),
                "password": PASSWORD,
                "first_name": "A",
                "last_name": "B",
                "birth_date": "03/02/1990",
            },
        )
        assert bad_date.status_code == 400
        future = await post_form(
            client,
            "/register",
            {
                "email": unique_email(),
                "password": PASSWORD,
                "first_name": "A",
                "last_name": "B",
                "birth_date": date(2999, 1, 1).isoformat(),
            },
        )
        assert future.status_code == 422


async def test_an_abandoned_hold_frees_itself(
    settings: Settings, services: Services, practitioner: UUID
) -> None:
    """Seen through a clock moved past the hold: the slot is offered again and the confirm page says so."""
    _a, _p, email = make_patient(services.app, services.clock.now(), "Ugo", "Pagehold")
    start = services.clock.now()
    later = dataclasses.replace(
        services, clock=FixedClock(start + timedelta(minutes=settings.hold_minutes, seconds=5))
    )
    async with page_client(settings, services) as client:
        await login(client, email)
        chosen = slot_values((await client.get(f"/practitioners/{practitioner}")).text)[4]
        form = {"practitioner_id": str(practitioner), "motif_id": "consult", "slot": chosen}
        assert (await post_form(client, "/book/hold", form)).status_code == 303
        assert chosen not in slot_values((await client.get(f"/practitioners/{practitioner}")).text)
    async with page_client(settings, later) as other:
        assert chosen in slot_values((await other.get(f"/practitioners/{practitioner}")).text)


async def test_confirming_after_the_hold_lapsed(
    settings: Settings, services: Services, practitioner: UUID
) -> None:
    """The confirm page says the hold lapsed; confirming still books while nobody took the time."""
    clock = FixedClock(services.clock.now())
    frozen = dataclasses.replace(services, clock=clock)
    _a, _p, email = make_patient(services.app, clock.now(), "Vera", "Pagelapse")
    async with page_client(settings, frozen) as client:
        await login(client, email)
        chosen = slot_values((await client.get(f"/practitioners/{practitioner}")).text)[5]
        form = {"practitioner_id": str(practitioner), "motif_id": "consult", "slot": chosen}
        assert (await post_form(client, "/book/hold", form)).status_code == 303
        fresh = await client.get("/book/confirm")
        assert 'class="notice"' in fresh.text and 'class="warning"' not in fresh.text
        clock.advance(minutes=settings.hold_minutes + 1)
        lapsed = await client.get("/book/confirm")
        assert lapsed.status_code == 200 and 'class="warning"' in lapsed.text
        profile_id = re.search(r'name="profile_id" value="([^"]+)"', lapsed.text).group(1)  # type: ignore[union-attr]
        booked = await post_form(client, "/book/confirmation", {"profile_id": profile_id})
        assert booked.status_code == 303 and "/booked" in booked.headers["location"]
