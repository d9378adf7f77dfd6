"""The practitioner's pages: day and week views, booking for a patient, move, cancel, mark, block."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from consulta.application import Actor
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, unique_email

from .pages_client import PASSWORD, login, page_client, post_form, slot_instant, slot_values


@pytest.fixture(scope="module")
def practice(services: Services) -> dict[str, Any]:
    """A practitioner who can log in, and a patient already booked with them."""
    app, now = services.app, services.clock.now()
    email = unique_email("dr")
    outcome = app.add_practitioner(
        email, PASSWORD, "Dr Marc Pagepro", "Dermatology", "Lille", now, "2 place Rihour"
    )
    pid = outcome.id
    actor = Actor(app.get_practitioner(pid).account_id, "practitioner", pid)
    position = app.configure_agenda(actor, pid, **_agenda()).position
    patient, profile, _ = make_patient(app, now, "Nina", "Pagepatient")
    services.wait_for(position)
    return {"id": pid, "email": email, "actor": actor, "profile": profile, "patient": patient}


def _agenda() -> dict[str, Any]:
    from tests.factories import MOTIFS, WEEKDAY_HOURS

    return {"hours": WEEKDAY_HOURS, "motifs": MOTIFS}


def free_values(html: str) -> list[str]:
    return [
        v.replace("%7C", "|").replace("%3A", ":").replace("%2B", "+")
        for v in re.findall(r'/pro/book\?motif=[^&]+&amp;slot=([^"]+)"', html)
    ]


async def book_via_pages(
    client: Any, services: Services, practice: dict[str, Any], day_html: str, index: int = 0
) -> tuple[UUID, str]:
    """Pick a free time on the day view, find the patient by name and birth date, book."""
    value = free_values(day_html)[index]
    page = await client.get(
        "/pro/book",
        params={"motif": "consult", "slot": value, "last_name": "pagepatient", "birth_date": "1985-05-17"},
    )
    assert page.status_code == 200 and str(practice["profile"]) in page.text
    named = {"last_name": "pagepatient", "birth_date": "1985-05-17"}  # the form's hidden fields, as searched
    assert all(f'name="{k}" value="{v}"' in page.text for k, v in named.items())
    booked = await post_form(
        client,
        "/pro/appointments",
        {"motif_id": "consult", "slot": value, "profile_id": str(practice["profile"]), **named},
    )
    assert booked.status_code == 303 and booked.headers["location"].startswith("/pro/agenda?day=")
    landing = await client.get(booked.headers["location"])
    starts_at = slot_instant(value)
    rows = services.reads.agenda(practice["id"], starts_at, starts_at + timedelta(minutes=1))["appointments"]
    (row,) = [r for r in rows if r["status"] == "booked"]
    assert f"/pro/appointments/{row['id']}" in landing.text and "Nina Pagepatient" in landing.text
    return row["id"], value


async def next_weekday_page(client: Any, services: Services, practice: dict[str, Any]) -> tuple[str, str]:
    card = services.reads.practitioner(practice["id"])
    assert card is not None
    day = card.rules.local_day(services.clock.now()) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    response = await client.get("/pro/agenda", params={"day": day.isoformat()})
    assert response.status_code == 200
    return day.isoformat(), response.text


async def test_day_and_week_views_and_booking_for_a_patient(
    settings: Settings, services: Services, practice: dict[str, Any]
) -> None:
    async with page_client(settings, services) as client:
        logged = await login(client, practice["email"])
        assert logged.status_code == 303 and logged.headers["location"] == "/pro/agenda"
        day, html = await next_weekday_page(client, services, practice)
        assert free_values(html) and "Europe/Paris" in html
        appointment_id, value = await book_via_pages(client, services, practice, html)
        after = (await client.get("/pro/agenda", params={"day": day})).text
        assert value not in free_values(after)
        assert f"/pro/appointments/{appointment_id}" in after
        week = await client.get("/pro/agenda/week", params={"start": day})
        assert week.status_code == 200 and "Nina Pagepatient" in week.text
        detail = await client.get(f"/pro/appointments/{appointment_id}")
        assert detail.status_code == 200 and 'name="reason"' in detail.text and " required" in detail.text
        # Move it to another free time of the same motif.
        choices = await client.get(f"/pro/appointments/{appointment_id}/move")
        target = slot_values(choices.text)[3]
        moved = await post_form(client, f"/pro/appointments/{appointment_id}/new-time", {"slot": target})
        assert moved.status_code == 303
        row = services.reads.agenda_appointment(practice["id"], appointment_id)
        assert row is not None and row["starts_at"] == slot_instant(target)
        # Cancelling needs a reason; with one it is cancelled and the slot is free again.
        refused = await post_form(client, f"/pro/appointments/{appointment_id}/cancel", {"reason": "  "})
        assert refused.status_code == 422
        done = await post_form(
            client, f"/pro/appointments/{appointment_id}/cancel", {"reason": "Practitioner ill"}
        )
        assert done.status_code == 303
        row = services.reads.agenda_appointment(practice["id"], appointment_id)
        assert row is not None and row["status"] == "cancelled" and row["closed_reason"] == "Practitioner ill"


async def test_mark_honoured_and_missed(
    settings: Settings, services: Services, practice: dict[str, Any]
) -> None:
    async with page_client(settings, services) as client:
        await login(client, practice["email"])
        _day, html = await next_weekday_page(client, services, practice)
        appointment_id, _value = await book_via_pages(client, services, practice, html, index=1)
        # Not started yet: the domain refuses, the page says so, nothing changes.
        early = await post_form(client, f"/pro/appointments/{appointment_id}/honoured")
        assert early.status_code == 422
        row = services.reads.agenda_appointment(practice["id"], appointment_id)
        assert row is not None and row["status"] == "booked"
    # A past appointment, booked through the domain with a clock set before it.
    now = services.clock.now()
    card = services.reads.practitioner(practice["id"])
    assert card is not None
    lo = now - timedelta(days=10)
    past = services.reads.free_slots(
        card, "consult", lo, now - timedelta(days=1), lo - timedelta(hours=1), staff=True
    )
    outcome = services.app.book(
        practice["actor"],
        practice["id"],
        "consult",
        past[0].mode,
        past[0].starts_at,
        practice["profile"],
        lo - timedelta(hours=1),
    )
    second = services.app.book(
        practice["actor"],
        practice["id"],
        "consult",
        past[1].mode,
        past[1].starts_at,
        practice["profile"],
        lo - timedelta(hours=1),
    )
    services.wait_for(second.position)
    async with page_client(settings, services) as client:
        await login(client, practice["email"])
        detail = await client.get(f"/pro/appointments/{outcome.id}")
        assert "/honoured" in detail.text
        assert (await post_form(client, f"/pro/appointments/{outcome.id}/honoured")).status_code == 303
        assert (await post_form(client, f"/pro/appointments/{second.id}/missed")).status_code == 303
        assert services.reads.agenda_appointment(practice["id"], outcome.id)["status"] == "honoured"  # type: ignore[index]
        assert services.reads.agenda_appointment(practice["id"], second.id)["status"] == "missed"  # type: ignore[index]


async def test_block_over_appointments_lists_them_and_drops_none(
    settings: Settings, services: Services, practice: dict[str, Any]
) -> None:
    async with page_client(settings, services) as client:
        await login(client, practice["email"])
        day, html = await next_weekday_page(client, services, practice)
        first_id, _ = await book_via_pages(client, services, practice, html, index=4)
        html = (await client.get("/pro/agenda", params={"day": day})).text
        second_id, _ = await book_via_pages(client, services, practice, html, index=6)
        period = {"starts_at": f"{day}T08:00", "ends_at": f"{day}T19:00"}
        refused = await post_form(client, "/pro/blocks", period)
        assert refused.status_code == 409
        for appointment_id in (first_id, second_id):
            assert f'action="/pro/appointments/{appointment_id}/cancel"' in refused.text
        assert services.reads.agenda(practice["id"], *_bounds(services, practice, day))["blocks"] == []
        found = re.search(r'name="next" value="(/pro/block\?[^"]+)"', refused.text)
        assert found is not None
        back = found.group(1).replace("&amp;", "&")
        listed = re.findall(r'action="/pro/appointments/([0-9a-f-]{36})/cancel"', refused.text)
        inside = services.reads.agenda(practice["id"], *_bounds(services, practice, day))["appointments"]
        assert sorted(listed) == sorted(str(a["id"]) for a in inside if a["status"] == "booked")
        for appointment_id in listed:
            cancelled = await post_form(
                client, f"/pro/appointments/{appointment_id}/cancel", {"reason": "Training day", "next": back}
            )
            assert cancelled.status_code == 303 and cancelled.headers["location"] == back
        form = await client.get(back)
        assert f'value="{day}T08:00"' in form.text
        blocked = await post_form(client, "/pro/blocks", period)
        assert blocked.status_code == 303
        view = await client.get(blocked.headers["location"])
        assert "/lift" in view.text and not free_values(view.text)
        block_id = re.search(r"/pro/blocks/([0-9a-f-]{36})/lift", view.text).group(1)  # type: ignore[union-attr]
        lifted = await post_form(client, f"/pro/blocks/{block_id}/lift")
        assert lifted.status_code == 303
        assert free_values((await client.get(lifted.headers["location"])).text)


def _bounds(services: Services, practice: dict[str, Any], day: str) -> tuple[Any, Any]:
    from datetime import date

    card = services.reads.practitioner(practice["id"])
    assert card is not None
    return card.rules.day_bounds(date.fromisoformat(day))


async def test_pro_pages_refuse_others_and_bad_input(
    settings: Settings, services: Services, practice: dict[str, Any]
) -> None:
    async with page_client(settings, services) as client:
        assert (await client.get("/pro/agenda")).status_code == 404  # a visitor
        _p, _q, email = make_patient(services.app, services.clock.now(), "Omar", "Pagenosy")
        await login(client, email)
        assert (await client.get("/pro/agenda")).status_code == 404  # a patient
    async with page_client(settings, services) as client:
        await login(client, practice["email"])
        for path in (
            "/pro/agenda?day=2026-02-30",
            "/pro/agenda?motif=nope",
            "/pro/agenda/week?start=x",
            f"/pro/appointments/{UUID(int=7)}",
            "/pro/book?motif=consult&slot=junk",
            "/pro/book?motif=nope&slot=practice|2030-01-01T08:00:00+00:00",
        ):
            response = await client.get(path)
            assert 400 <= response.status_code < 500, path
        for form in (
            {"starts_at": "tomorrow", "ends_at": "later"},
            {"starts_at": "2030-01-02T10:00", "ends_at": "2030-01-02T09:00"},
            {"starts_at": "2030-01-02T10:00+01:00", "ends_at": "2030-01-02T11:00"},
        ):
            assert (await post_form(client, "/pro/blocks", form)).status_code == 400
        bad_book = await post_form(
            client,
            "/pro/appointments",
            {
                "motif_id": "consult",
                "slot": "practice|2020-01-06T08:00:00+00:00",
                "profile_id": str(practice["profile"]),
                "last_name": "Pagepatient",
                "birth_date": "1985-05-17",
            },
        )
        assert bad_book.status_code == 422
