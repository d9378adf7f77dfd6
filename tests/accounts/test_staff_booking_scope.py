"""Staff book only for a patient of their practice, or for one they name (last name and birth date).

A patient of the practice: seen there (KnownPatient), has or had an appointment
in the agenda (any status), or created by its staff. Anyone else, over the pages
and over the API, gets the answer of a profile that does not exist, and nothing
is recorded. A patient new to the practice is booked by giving their last name
and birth date, as the search found them (docs/security.md, "Booking for a patient").
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.appointment import KnownPatient
from consulta.aggregates.practice_patient import AgendaPatient
from consulta.application import Actor
from consulta.services import Services
from tests.accounts.conftest import head
from tests.accounts.principals import PASSWORD, World, api_login, post_form
from tests.accounts.test_secretaries import logged_in
from tests.factories import unique_email
from tests.http.pages_client import slot_values

CSRF_VALUE = re.compile(r'(name="_csrf_token" value=")[^"]*"')


def shape(response: Any, profile_id: UUID) -> tuple[int, str, str]:
    """What the caller sees, with the requested id and the CSRF token blanked."""
    text = CSRF_VALUE.sub(r'\1"', response.text).replace(str(profile_id), "{id}")
    return response.status_code, response.headers.get("location", ""), text


def next_slot(services: Services, practitioner_id: UUID) -> tuple[str, datetime]:
    """The first free consultation slot of the agenda (mode, start), as staff may book it."""
    now = services.clock.now()
    card = services.reads.practitioner(practitioner_id)
    assert card is not None
    slot = services.reads.free_slots(card, "consult", now + timedelta(days=1), now + timedelta(days=30), now,
                                     staff=True, limit=1)[0]  # fmt: skip
    return slot.mode, slot.starts_at


def form(services: Services, practitioner_id: UUID, profile_id: UUID, **named: str) -> dict[str, str]:
    mode, starts_at = next_slot(services, practitioner_id)
    return {"motif_id": "consult", "slot": f"{mode}|{starts_at.isoformat()}", "profile_id": str(profile_id),
            **named}  # fmt: skip


def new_patient(services: Services, first: str, last: str, born: date) -> tuple[Actor, UUID]:
    """A patient with their own account elsewhere on the platform, tied to no practice."""
    now = services.clock.now()
    outcome = services.app.register_patient(unique_email("p"), PASSWORD, first, last, born, now)
    profile_id = services.app.get_account(outcome.id).profile_id
    assert profile_id is not None and services.wait_for(outcome.position)
    return Actor(outcome.id, "patient"), profile_id


def is_agenda_patient(services: Services, practitioner_id: UUID, profile_id: UUID) -> bool:
    try:
        services.app.repository.get(AgendaPatient.id_for(practitioner_id, profile_id))
    except AggregateNotFoundError:
        return False
    return True


async def refused_like_a_missing_profile(
    services: Services, send: Any, profile_id: UUID, body: dict[str, Any]
) -> None:
    """`send(body)` for `profile_id` answers exactly as for a random id, is no success, records nothing."""
    missing = uuid4()
    before = head(services)
    reference = shape(await send({**body, "profile_id": str(missing)}), missing)
    response = await send({**body, "profile_id": str(profile_id)})
    answer = shape(response, profile_id)
    assert answer == reference and answer[0] == 404, (answer[0], reference[0])
    if response.headers["content-type"].startswith("application/problem+json"):
        assert response.json()["detail"] == "profile not found"
    assert head(services) == before


async def test_a_practitioner_books_their_patients_over_the_pages_and_no_one_else(
    settings, services, world: World
) -> None:  # type: ignore[no-untyped-def]
    x = world.practitioner_x
    x_id = x.practitioner_id
    assert x_id is not None and x.actor is not None
    # Seen once by X (a KnownPatient, recorded before anything else tied them), and nothing more.
    _, seen = new_patient(services, "Sylvie", "Seenbefore", date(1961, 2, 3))
    services.app.save(KnownPatient(x_id, seen, uuid4(), x.actor.account_id))
    client = await logged_in(settings, services, x)
    try:

        async def send(body: dict[str, Any]) -> Any:
            return await post_form(client, "/pro/appointments", body)

        # A has only a future appointment with X (booked by A online): X books again for A.
        booked = await send(form(services, x_id, world.patient_a.profile_id))  # type: ignore[arg-type]
        assert booked.status_code == 303, booked.status_code
        assert (await send(form(services, x_id, seen))).status_code == 303
        assert is_agenda_patient(services, x_id, seen)
        # B is Y's patient; the child's manager is nobody's patient: both look missing, nothing recorded.
        for foreign in (world.patient_b.profile_id, world.child_manager.profile_id):
            await refused_like_a_missing_profile(services, send, foreign, form(services, x_id, uuid4()))  # type: ignore[arg-type]
            assert not is_agenda_patient(services, x_id, foreign)  # type: ignore[arg-type]
        # Naming B wrongly (A's last name, B's birth date) is no better than naming no one.
        wrong = form(services, x_id, uuid4(), last_name="Aubert", birth_date="1984-03-09")
        await refused_like_a_missing_profile(services, send, world.patient_b.profile_id, wrong)  # type: ignore[arg-type]
    finally:
        await client.__aexit__(None, None, None)


async def test_a_practitioner_books_a_patient_new_to_them_found_by_name_and_birth_date(
    settings, services, world: World
) -> None:  # type: ignore[no-untyped-def]
    x_id = world.practitioner_x.practitioner_id
    assert x_id is not None
    _, nadia = new_patient(services, "Nadia", "Neuville", date(1990, 5, 5))
    client = await logged_in(settings, services, world.practitioner_x)
    try:
        mode, starts_at = next_slot(services, x_id)
        slot = f"{mode}|{starts_at.isoformat()}"
        page = await client.get(
            "/pro/book",
            params={"motif": "consult", "slot": slot, "last_name": "neuville", "birth_date": "1990-05-05"},
        )
        assert page.status_code == 200 and str(nadia) in page.text
        hidden = dict(
            re.findall(r'<input type="hidden" name="(last_name|birth_date)" value="([^"]*)"', page.text)
        )
        assert hidden == {"last_name": "neuville", "birth_date": "1990-05-05"}
        booked = await post_form(client, "/pro/appointments",
                                 {"motif_id": "consult", "slot": slot, "profile_id": str(nadia), **hidden})  # fmt: skip
        assert booked.status_code == 303, booked.status_code
        # From now on Nadia is a patient of X: booked again by id alone.
        again = await post_form(client, "/pro/appointments", form(services, x_id, nadia))
        assert again.status_code == 303
    finally:
        await client.__aexit__(None, None, None)


async def test_the_secretary_books_a_caller_found_by_the_search_but_not_a_patient_of_another_practice(
    settings, services, world: World
) -> None:  # type: ignore[no-untyped-def]
    sec, x_id = world.secretary_x, world.practitioner_x.practitioner_id
    assert x_id is not None and sec.actor is not None
    # Pierre has an account and is Y's patient; he phones X's secretary for the first time.
    pierre_actor, pierre = new_patient(services, "Pierre", "Appel", date(1975, 7, 14))
    y_id = world.practitioner_y.practitioner_id
    assert y_id is not None
    mode, starts_at = next_slot(services, y_id)
    at_y = services.app.book(pierre_actor, y_id, "consult", mode, starts_at, pierre, services.clock.now())
    assert services.wait_for(at_y.position)
    client = await logged_in(settings, services, sec)
    try:

        async def send(body: dict[str, Any]) -> Any:
            return await post_form(client, "/pro/appointments", body)

        # A patient of Y only, by id: refused as if missing (B too), and his booking page is missing.
        for foreign in (pierre, world.patient_b.profile_id):
            await refused_like_a_missing_profile(services, send, foreign, form(services, x_id, uuid4()))  # type: ignore[arg-type]
        assert (await client.get(f"/sec/patients/{pierre}/book")).status_code == 404
        # The phone call: last name and birth date, found, booked from the page the search links to.
        found = await client.get("/sec/patients", params={"name": "Appel", "birth_date": "1975-07-14"})
        assert f"/sec/patients/{pierre}/book" in found.text
        page = await client.get(f"/sec/patients/{pierre}/book")
        assert page.status_code == 200
        fields = {
            n: html.unescape(v)
            for n, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text)
        }
        assert fields["last_name"] == "Appel" and fields["birth_date"] == "1975-07-14"
        booked = await send({**{k: fields[k] for k in ("motif_id", "profile_id", "last_name", "birth_date")},
                             "slot": slot_values(page.text)[0]})  # fmt: skip
        assert booked.status_code == 303, booked.status_code
        assert is_agenda_patient(services, x_id, pierre)
        # A caller with no account: created by the secretary, then booked by id alone.
        created = await post_form(client, "/sec/patients/new", {"first_name": "Rose", "last_name": "Nouveau",
                                  "birth_date": "1948-11-30", "phone": "", "email": ""})  # fmt: skip
        assert created.status_code == 303
        rose = UUID(created.headers["location"].split("/")[3])
        page = await client.get(created.headers["location"])
        booked = await send(
            {"motif_id": "consult", "slot": slot_values(page.text)[0], "profile_id": str(rose)}
        )
        assert booked.status_code == 303
    finally:
        await client.__aexit__(None, None, None)


async def test_the_api_applies_the_same_rule(settings, services, world: World) -> None:  # type: ignore[no-untyped-def]
    x, y = world.practitioner_x, world.practitioner_y
    assert x.practitioner_id is not None and y.practitioner_id is not None
    _, quentin = new_patient(services, "Quentin", "Quidam", date(2001, 1, 31))
    client = await logged_in(settings, services, world.anonymous)
    try:
        token_x, token_y = await api_login(client, x), await api_login(client, y)

        def sender(token: str | None) -> Any:
            async def send(body: dict[str, Any]) -> Any:
                return await client.post("/api/v1/appointments", json=body,
                                         headers={"authorization": f"Bearer {token}"})  # fmt: skip

            return send

        def body(practitioner_id: UUID, profile_id: UUID, **named: str) -> dict[str, Any]:
            mode, starts_at = next_slot(services, practitioner_id)
            return {"practitioner_id": str(practitioner_id), "motif_id": "consult", "mode": mode,
                    "starts_at": starts_at.isoformat(), "profile_id": str(profile_id), **named}  # fmt: skip

        as_x, as_y = sender(token_x), sender(token_y)
        assert (await as_x(body(x.practitioner_id, world.patient_a.profile_id))).status_code == 201  # type: ignore[arg-type]
        for foreign in (world.patient_b.profile_id, quentin):
            await refused_like_a_missing_profile(services, as_x, foreign, body(x.practitioner_id, uuid4()))  # type: ignore[arg-type]
        # Y for X's patient A, on Y's agenda: missing too.
        await refused_like_a_missing_profile(
            services, as_y, world.patient_a.profile_id, body(y.practitioner_id, uuid4())
        )  # type: ignore[arg-type]
        # X on Y's agenda: "practitioner not found", whether the profile exists or not.
        real_on_y = await as_x(body(y.practitioner_id, world.patient_b.profile_id))  # type: ignore[arg-type]
        missing_on_y = await as_x(body(y.practitioner_id, uuid4()))
        assert real_on_y.status_code == missing_on_y.status_code == 404
        assert real_on_y.json()["detail"] == missing_on_y.json()["detail"] == "practitioner not found"
        # Named wrongly: missing; only one of the two fields: a clear 422; named rightly: booked.
        wrong = body(x.practitioner_id, uuid4(), patient_last_name="Quidam", patient_birth_date="2001-02-01")
        await refused_like_a_missing_profile(services, as_x, quentin, wrong)
        half = await as_x(body(x.practitioner_id, quentin, patient_last_name="Quidam"))
        assert half.status_code == 422 and "patient_birth_date" in half.text
        named = body(
            x.practitioner_id, quentin, patient_last_name=" quidam ", patient_birth_date="2001-01-31"
        )
        booked = await as_x(named)
        assert booked.status_code == 201, booked.text
        assert booked.json()["profile_id"] == str(quentin)
    finally:
        await client.__aexit__(None, None, None)
