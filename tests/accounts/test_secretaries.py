"""Tele-secretaries: granted agendas only, found or created patients, bookings, messages; a revoked
grant takes effect on the secretary's next request, whatever the session says."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

from litestar.testing import AsyncTestClient

from consulta.http.app import create_app
from tests.accounts.conftest import head
from tests.accounts.principals import PASSWORD, page_login, post_form, with_totp
from tests.factories import unique_email
from tests.http.pages_client import slot_instant, slot_values


async def logged_in(settings, services, principal):  # type: ignore[no-untyped-def]
    client = AsyncTestClient(create_app(settings, services), base_url="http://127.0.0.1")
    await client.__aenter__()
    await client.get("/")
    await page_login(client, principal)
    return client


async def test_secretary_finds_creates_books_moves_cancels_and_leaves_a_message(
    settings, services, world
) -> None:  # type: ignore[no-untyped-def]
    sec, x = world.secretary_x, world.practitioner_x
    client = await logged_in(settings, services, sec)
    try:
        home = await client.get("/sec")
        assert (
            home.status_code == 200 and "Dr Xavier Morel" in home.text and "Dr Yvonne Petit" not in home.text
        )
        assert (await client.get("/pro/agenda")).status_code == 200
        # Y never granted this secretary: choosing Y's agenda is refused like a missing one.
        refused = await post_form(
            client, "/sec/agenda", {"practitioner_id": str(world.practitioner_y.practitioner_id)}
        )
        assert refused.status_code == 404
        # B is Y's patient, not X's: opening B by id looks missing, as does an unknown id.
        for profile in (world.patient_b.profile_id, world.child_profile_id.__class__(int=5)):
            assert (await client.get(f"/sec/patients/{profile}/book")).status_code == 404
            assert (
                await post_form(client, "/sec/messages", {"text": "hi", "profile_id": str(profile)})
            ).status_code == 404
        # Find A (a patient of X) by name, by last name and birth date.
        by_name = await client.get("/sec/patients", params={"name": "Aubert"})
        assert "Anne" in by_name.text
        by_birth = await client.get("/sec/patients", params={"name": "Aubert", "birth_date": "1984-03-09"})
        assert "Anne" in by_birth.text
        # A new patient on the phone: a profile without an account, found again by phone.
        created = await post_form(client, "/sec/patients/new", {"first_name": "Paul", "last_name": "Phonelin",
                                  "birth_date": "1950-01-02", "phone": "06 12 34 56 78", "email": ""})  # fmt: skip
        assert created.status_code == 303
        profile_id = UUID(created.headers["location"].split("/")[3])
        assert services.app.get_profile(profile_id).manager_id is None
        assert "Phonelin" in (await client.get("/sec/patients", params={"phone": "0612345678"})).text
        # Book for that profile on X's agenda.
        page = await client.get(created.headers["location"])
        slot = slot_values(page.text)[0]
        booked = await post_form(
            client, "/pro/appointments", {"motif_id": "consult", "slot": slot, "profile_id": str(profile_id)}
        )
        assert booked.status_code == 303
        day = await client.get(booked.headers["location"])
        # The one at the booked time: the day may also hold A's, earlier (e.g. booked after noon).
        starts_at = slot_instant(slot)
        (row,) = services.reads.agenda(x.practitioner_id, starts_at, starts_at + timedelta(minutes=1))[
            "appointments"
        ]
        appointment_id = row["id"]
        assert f"/pro/appointments/{appointment_id}" in day.text
        appointment = services.app.get_appointment(x.actor, appointment_id)
        assert appointment.booked_by == sec.actor.account_id and appointment.booked_by_role == "secretary"
        # Move it, then cancel it with a reason.
        move_page = await client.get(f"/pro/appointments/{appointment_id}/move")
        new_slot = next(s for s in slot_values(move_page.text) if s != slot)
        assert (
            await post_form(client, f"/pro/appointments/{appointment_id}/new-time", {"slot": new_slot})
        ).status_code == 303
        cancelled = await post_form(
            client, f"/pro/appointments/{appointment_id}/cancel", {"reason": "patient called"}
        )
        assert cancelled.status_code == 303
        assert services.app.get_appointment(x.actor, appointment_id).status == "cancelled"
        # A message for X, about this patient.
        sent = await post_form(
            client, "/sec/messages", {"text": "Call Mr Phonelin back", "profile_id": str(profile_id)}
        )
        assert sent.status_code == 200
    finally:
        await client.__aexit__(None, None, None)
    practitioner = await logged_in(settings, services, x)
    try:
        inbox = await practitioner.get("/pro/inbox")
        assert "Call Mr Phonelin back" in inbox.text and "Phonelin" in inbox.text
        message_ids = re.findall(r"/pro/inbox/([0-9a-f-]{36})/done", inbox.text)
        assert len(message_ids) >= 2  # this one and the world's
        assert (await post_form(practitioner, f"/pro/inbox/{message_ids[0]}/done")).status_code == 303
        assert (
            len(re.findall(r"/pro/inbox/([0-9a-f-]{36})/done", (await practitioner.get("/pro/inbox")).text))
            == len(message_ids) - 1
        )
    finally:
        await practitioner.__aexit__(None, None, None)
    # Y cannot close X's messages: it looks missing.
    other = await logged_in(settings, services, world.practitioner_y)
    try:
        assert (await post_form(other, f"/pro/inbox/{world.message_id}/done")).status_code == 404
        assert "Please call back" not in (await other.get("/pro/inbox")).text
    finally:
        await other.__aexit__(None, None, None)


async def test_a_grant_revoked_mid_session_refuses_the_next_request(settings, services, world, now) -> None:  # type: ignore[no-untyped-def]
    app = services.app
    x = world.practitioner_x
    email = unique_email("secretary")
    secretary_id = app.add_secretary(email, PASSWORD, now).id
    secret = with_totp(services, secretary_id, now)
    app.grant_secretary(x.actor, email, now)
    from consulta.application import Actor
    from tests.accounts.principals import Principal

    sec = Principal("temp secretary", Actor(secretary_id, "secretary", x.practitioner_id), email, PASSWORD, secret,
                    practitioner_id=x.practitioner_id)  # fmt: skip
    client = await logged_in(settings, services, sec)
    practitioner = await logged_in(settings, services, x)
    try:
        assert (await client.get("/pro/agenda")).status_code == 200
        slot = slot_values((await client.get(f"/sec/patients/{world.patient_a.profile_id}/book")).text)[0]
        # X revokes while the secretary is logged in and working.
        revoked = await post_form(practitioner, f"/pro/secretaries/{secretary_id}/revoke")
        assert revoked.status_code == 303
        assert (
            "access revoked" in (await practitioner.get("/pro/secretaries")).text
            or "accès retiré" in (await practitioner.get("/pro/secretaries")).text
        )
        before = head(services)
        assert (await client.get("/pro/agenda")).status_code == 404
        assert (await client.get(f"/pro/appointments/{world.patient_a.appointment_id}")).status_code == 404
        book = await post_form(client, "/pro/appointments", {"motif_id": "consult", "slot": slot,
                                                              "profile_id": str(world.patient_a.profile_id)})  # fmt: skip
        assert book.status_code == 404
        cancel = await post_form(
            client, f"/pro/appointments/{world.patient_a.appointment_id}/cancel", {"reason": "x"}
        )
        assert cancel.status_code == 404
        message = await post_form(client, "/sec/messages", {"text": "hello"})
        assert message.status_code == 404
        assert (
            await post_form(client, "/sec/agenda", {"practitioner_id": str(x.practitioner_id)})
        ).status_code == 404
        assert head(services) == before  # nothing recorded
        assert app.get_appointment(x.actor, world.patient_a.appointment_id).status == "booked"
        assert (await client.get("/sec")).status_code == 200  # the secretary still has their own page
        # Granted again: works again, without logging in again.
        await post_form(practitioner, "/pro/secretaries/grant", {"email": email})
        assert (
            await post_form(client, "/sec/agenda", {"practitioner_id": str(x.practitioner_id)})
        ).status_code == 303
        assert (await client.get("/pro/agenda")).status_code == 200
    finally:
        await client.__aexit__(None, None, None)
        await practitioner.__aexit__(None, None, None)


async def test_granting_refuses_patient_accounts_and_unknown_addresses(settings, services, world) -> None:  # type: ignore[no-untyped-def]
    practitioner = await logged_in(settings, services, world.practitioner_x)
    try:
        before = head(services)
        assert (
            await post_form(practitioner, "/pro/secretaries/grant", {"email": world.patient_b.email})
        ).status_code == 422
        assert (
            await post_form(practitioner, "/pro/secretaries/grant", {"email": unique_email("ghost")})
        ).status_code == 404
        assert head(services) == before
    finally:
        await practitioner.__aexit__(None, None, None)


async def test_secretaries_and_patients_see_no_practitioner_pages_of_others(
    settings, services, world
) -> None:  # type: ignore[no-untyped-def]
    for principal in (world.secretary_x, world.patient_a):
        client = await logged_in(settings, services, principal)
        try:
            for path in ("/pro/inbox", "/pro/secretaries", "/pro/profile"):
                assert (await client.get(path)).status_code == 404, (principal.name, path)
        finally:
            await client.__aexit__(None, None, None)
