"""Families: one account manages several profiles; a profile is handed over (a teenager at 15) or
claimed (created by a secretary), and the former manager loses it at once, even while logged in."""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

from litestar.testing import AsyncTestClient

from consulta.http.app import create_app
from consulta.projections.account_views import AccountReads
from tests.accounts.conftest import head, link_in
from tests.accounts.principals import PASSWORD, post_form
from tests.factories import make_patient, unique_email
from tests.http.pages_client import slot_values


async def open_client(settings, services):  # type: ignore[no-untyped-def]
    client = AsyncTestClient(create_app(settings, services), base_url="http://127.0.0.1")
    await client.__aenter__()
    await client.get("/")
    return client


async def book_for(client, services, practitioner_id, profile_id) -> UUID:  # type: ignore[no-untyped-def]
    """Hold then confirm a slot for one of my profiles, through the patient pages."""
    page = await client.get(f"/practitioners/{practitioner_id}/slots?motif=consult")
    slot = slot_values(page.text)[0]
    held = await post_form(
        client, "/book/hold", {"practitioner_id": str(practitioner_id), "motif_id": "consult", "slot": slot}
    )
    assert held.status_code == 303, held.status_code
    confirmed = await post_form(client, "/book/confirmation", {"profile_id": str(profile_id)})
    assert confirmed.status_code == 303, confirmed.status_code
    return UUID(re.findall(r"/my/appointments/([0-9a-f-]{36})", confirmed.headers["location"])[0])


async def test_a_teenager_takes_their_profile_and_the_parent_loses_it_at_once(
    mail_settings, services, world, mailbox, now
) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    app = services.app
    parent_actor, _, parent_email = make_patient(app, now, "Hélène", "Garnier")
    parent = await open_client(mail_settings, services)
    try:
        assert (
            await post_form(parent, "/login", {"email": parent_email, "password": PASSWORD})
        ).status_code == 303
        added = await post_form(parent, "/family/profiles", {"first_name": "Théo", "last_name": "Garnier",
                                                             "birth_date": date(now.year - 15, 1, 1).isoformat()})  # fmt: skip
        young = await post_form(parent, "/family/profiles", {"first_name": "Lina", "last_name": "Garnier",
                                                             "birth_date": date(now.year - 8, 1, 1).isoformat()})  # fmt: skip
        assert added.status_code == young.status_code == 303
        rows = AccountReads(services.reads).family(parent_actor.account_id)
        people = {p.first_name: p for p in (app.get_profile(r["id"]) for r in rows)}
        teen, child = people["Théo"], people["Lina"]
        assert teen.manager_id == parent_actor.account_id
        appointment_id = await book_for(parent, services, world.practitioner_x.practitioner_id, teen.id)
        event = app.get_appointment(parent_actor, appointment_id)
        assert (event.booked_by, event.profile_id) == (parent_actor.account_id, teen.id)  # booked by X for Y
        # Under 15: no hand-over; nothing recorded.
        before = head(services)
        refused = await post_form(
            parent, f"/family/profiles/{child.id}/hand-over", {"email": unique_email("kid")}
        )
        assert refused.status_code == 422 and head(services) == before
        # Someone else's profile looks missing.
        foreign = await post_form(
            parent, f"/family/profiles/{world.child_profile_id}/hand-over", {"email": unique_email("x")}
        )
        assert foreign.status_code == 404 and head(services) == before
        # The invitation goes by e-mail to the teenager.
        teen_email = unique_email("teen")
        invited = await post_form(parent, f"/family/profiles/{teen.id}/hand-over", {"email": teen_email})
        assert invited.status_code == 303
        path = link_in(box.wait_for(teen_email))
        assert path.startswith("/family/claim/") and "Garnier" not in path
        teenager = await open_client(mail_settings, services)
        try:
            assert (await teenager.get(path)).status_code == 200
            weak = await post_form(teenager, path + "/register", {"email": teen_email, "password": "short"})
            assert weak.status_code == 422
            taken = await post_form(teenager, path + "/register", {"email": teen_email, "password": PASSWORD})
            assert taken.status_code == 303
            mine = await teenager.get("/my/appointments")
            assert str(appointment_id) in mine.text
        finally:
            await teenager.__aexit__(None, None, None)
        # The parent, still logged in, has lost the profile and its appointment.
        assert app.get_profile(teen.id).manager_id != parent_actor.account_id
        before = head(services)
        listing = await parent.get("/my/appointments")
        assert str(appointment_id) not in listing.text
        assert (await parent.get(f"/my/appointments/{appointment_id}/booked")).status_code == 404
        assert (
            await post_form(parent, f"/my/appointments/{appointment_id}/cancel", {"reason": ""})
        ).status_code == 404
        assert (await parent.get(f"/my/appointments/{appointment_id}/reschedule")).status_code == 404
        assert "Théo" not in (await parent.get("/family")).text
        assert head(services) == before
        # The link is good once.
        again = await post_form(parent, path + "/take")
        assert again.status_code == 410 and head(services) == before
    finally:
        await parent.__aexit__(None, None, None)


async def test_a_profile_created_on_the_phone_is_claimed_later(
    mail_settings, services, world, mailbox
) -> None:  # type: ignore[no-untyped-def]
    from tests.accounts.principals import page_login

    box, _ = mailbox
    app = services.app
    patient_email = unique_email("phone")
    secretary = await open_client(mail_settings, services)
    try:
        await page_login(secretary, world.secretary_x)
        created = await post_form(secretary, "/sec/patients/new", {"first_name": "Rose", "last_name": "Caller",
                                  "birth_date": "1962-07-14", "phone": "+33 6 00 00 00 01", "email": patient_email})  # fmt: skip
        profile_id = UUID(created.headers["location"].split("/")[3])
        invited = await post_form(secretary, f"/sec/patients/{profile_id}/invite")
        assert invited.status_code == 303 and invited.headers["location"].endswith("invited=yes")
    finally:
        await secretary.__aexit__(None, None, None)
    path = link_in(box.wait_for(patient_email))
    # An existing patient account takes it into its family.
    actor, _, email = make_patient(app, services.clock.now(), "Rose", "Caller")
    patient = await open_client(mail_settings, services)
    try:
        assert (await post_form(patient, "/login", {"email": email, "password": PASSWORD})).status_code == 303
        taken = await post_form(patient, path + "/take")
        assert taken.status_code == 303
        assert app.get_profile(profile_id).manager_id == actor.account_id
        assert "Caller" in (await patient.get("/family")).text
    finally:
        await patient.__aexit__(None, None, None)


async def test_a_secretary_cannot_take_a_claim_link(mail_settings, services, world) -> None:  # type: ignore[no-untyped-def]
    """Claiming is for patient accounts; a staff session gets the login page, nothing changes."""
    from tests.accounts.principals import page_login

    token, _ = services.app.issue_token(
        "claim_profile", None, services.clock.now(), profile_id=world.child_profile_id
    )
    client = await open_client(mail_settings, services)
    try:
        await page_login(client, world.secretary_x)
        before = head(services)
        response = await post_form(client, f"/family/claim/{token}/take")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert head(services) == before
    finally:
        await client.__aexit__(None, None, None)
