"""API agenda: the practitioner and granted secretaries read it (second factor); others see a missing one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from psycopg.rows import dict_row

from consulta.application import Actor
from consulta.http.app import create_app
from consulta.projections import audit_log
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import PASSWORD, Principal, api_login, patient, practitioner, with_totp
from tests.factories import unique_email
from tests.http.api_helpers import assert_problem, head

PARIS = ZoneInfo("Europe/Paris")
APPOINTMENT_KEYS = {
    "id",
    "status",
    "starts_at",
    "ends_at",
    "mode",
    "motif_id",
    "motif_name",
    "profile_id",
    "patient_name",
}


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[AsyncTestClient[Any]]:
    """Every staff member logs in with a code: a generous login limit for the logins of one test."""
    app = create_app(settings.with_(login_rate_per_minute=10_000), services)
    async with AsyncTestClient(app) as test_client:
        yield test_client


@dataclass
class Practice:
    x: Principal  # the practitioner whose agenda is read
    y: Principal  # another practitioner
    secretary: Principal  # granted on X's agenda
    stranger: Principal  # a secretary granted on Y's agenda only
    anne: Principal  # patients of X
    paul: Principal
    booked: UUID  # Anne's appointment with X
    cancelled: UUID  # Paul's, cancelled
    block: UUID  # a blocked period of X, after both
    slots: list[datetime]  # Anne's start, Paul's start, the block's start


def secretary(services: Services, now: datetime, granted_by: Principal) -> Principal:
    email = unique_email("secretary")
    account_id = services.app.add_secretary(email, PASSWORD, now).id
    services.app.grant_secretary(granted_by.actor, email, now)  # type: ignore[arg-type]
    actor = Actor(account_id, "secretary")  # as a login gives it: the agenda comes from the path
    return Principal("secretary", actor, email, PASSWORD, with_totp(services, account_id, now))


def practice(services: Services) -> Practice:
    app, now = services.app, services.clock.now()
    x = practitioner(services, now, "practitioner X", "Dr Xavier Morel")
    y = practitioner(services, now, "practitioner Y", "Dr Yvonne Petit")
    anne = patient(services, now, "Anne", "Anne", "Aubert")
    paul = patient(services, now, "Paul", "Paul", "Blanc")
    assert services.wait_for(app.recorder.max_notification_id() or 0)
    card = services.reads.practitioner(x.practitioner_id)  # type: ignore[arg-type]
    assert card is not None
    free = services.reads.free_slots(card, "consult", now + timedelta(days=2), now + timedelta(days=9), now)
    first, second, third = free[0], free[3], free[6]
    booked = app.book(
        anne.actor, x.practitioner_id, "consult", first.mode, first.starts_at, anne.profile_id, now
    )  # type: ignore[arg-type]
    other = app.book(
        paul.actor, x.practitioner_id, "consult", second.mode, second.starts_at, paul.profile_id, now
    )  # type: ignore[arg-type]
    app.cancel(paul.actor, other.id, "", now)  # type: ignore[arg-type]
    block = app.block_period(
        x.actor, x.practitioner_id, third.starts_at, third.starts_at + timedelta(hours=1), now
    )  # type: ignore[arg-type]
    world = Practice(
        x,
        y,
        secretary(services, now, x),
        secretary(services, now, y),
        anne,
        paul,
        booked.id,
        other.id,
        block.id,
        [first.starts_at, second.starts_at, third.starts_at],
    )
    assert services.wait_for(app.recorder.max_notification_id() or 0)
    return world


async def login(client: AsyncTestClient[Any], principal: Principal) -> dict[str, str]:
    """Bearer headers from a real login with the authenticator code."""
    return {"authorization": f"Bearer {await api_login(client, principal)}"}


def url(practitioner_id: Any) -> str:
    return f"/api/v1/practitioners/{practitioner_id}/agenda"


def covering(w: Practice) -> dict[str, str]:
    """A window holding both appointments and the block."""
    return {
        "from": (w.slots[0] - timedelta(hours=1)).isoformat(),
        "to": (w.slots[2] + timedelta(days=1)).isoformat(),
    }


def access_rows(services: Services, account_id: UUID) -> list[dict[str, Any]]:
    with services.reads.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM audit.access_log WHERE actor_account = %s ORDER BY id", (account_id,))
        return cur.fetchall()


async def test_the_practitioner_reads_the_agenda_with_appointments_and_blocks(client, services):
    w = practice(services)
    response = await client.get(
        url(w.x.practitioner_id), params=covering(w), headers=await login(client, w.x)
    )

    assert response.status_code == 200, response.text
    agenda = response.json()
    assert agenda["practitioner_id"] == str(w.x.practitioner_id) and agenda["timezone"] == "Europe/Paris"
    by_id = {a["id"]: a for a in agenda["appointments"]}
    assert list(by_id) == [str(w.booked), str(w.cancelled)], "both, in time order"
    booked = by_id[str(w.booked)]
    assert set(booked) == APPOINTMENT_KEYS
    assert (booked["status"], booked["motif_id"], booked["motif_name"]) == (
        "booked",
        "consult",
        "Consultation",
    )
    assert (booked["profile_id"], booked["patient_name"]) == (str(w.anne.profile_id), "Anne Aubert")
    assert booked["starts_at"] == w.slots[0].astimezone(PARIS).isoformat(), "in Paris time, with its offset"
    assert datetime.fromisoformat(booked["ends_at"]) - datetime.fromisoformat(
        booked["starts_at"]
    ) == timedelta(minutes=20)
    assert booked["mode"] in ("practice", "video")
    cancelled = by_id[str(w.cancelled)]
    assert (cancelled["status"], cancelled["patient_name"]) == ("cancelled", "Paul Blanc"), "as the day view"
    assert agenda["blocks"] == [
        {
            "id": str(w.block),
            "starts_at": w.slots[2].astimezone(PARIS).isoformat(),
            "ends_at": (w.slots[2] + timedelta(hours=1)).astimezone(PARIS).isoformat(),
        }
    ]
    assert agenda["starts_at"] == (w.slots[0] - timedelta(hours=1)).astimezone(PARIS).isoformat()

    # A window starting inside the block clips it; one before everything shows nothing.
    inside = w.slots[2] + timedelta(minutes=10)
    clipped = await client.get(
        url(w.x.practitioner_id),
        params={"from": inside.isoformat(), "to": (inside + timedelta(hours=2)).isoformat()},
        headers=await login(client, w.x),
    )
    assert clipped.status_code == 200, clipped.text
    assert clipped.json()["appointments"] == []
    assert [b["starts_at"] for b in clipped.json()["blocks"]] == [inside.astimezone(PARIS).isoformat()]


async def test_the_default_window_is_today_in_the_practitioners_zone(client, services):
    w = practice(services)
    before = datetime.now(PARIS).date()
    response = await client.get(url(w.x.practitioner_id), headers=await login(client, w.x))
    assert response.status_code == 200, response.text
    days = {before, datetime.now(PARIS).date()}
    expected = {
        (
            datetime.combine(d, time(0), PARIS).isoformat(),
            datetime.combine(d + timedelta(days=1), time(0), PARIS).isoformat(),
        )
        for d in days
    }
    assert (response.json()["starts_at"], response.json()["ends_at"]) in expected
    assert response.json()["appointments"] == [], "both appointments lie two days ahead or more"


async def test_a_granted_secretary_reads_it_and_one_access_log_row_names_every_profile(client, services):
    w = practice(services)
    headers = await login(client, w.secretary)
    account_id = w.secretary.actor.account_id  # type: ignore[union-attr]
    assert access_rows(services, account_id) == []

    response = await client.get(url(w.x.practitioner_id), params=covering(w), headers=headers)
    assert response.status_code == 200, response.text
    assert {a["id"] for a in response.json()["appointments"]} == {str(w.booked), str(w.cancelled)}

    rows = access_rows(services, account_id)
    assert len(rows) == 1, "one row for the whole listing"
    row = rows[0]
    assert (row["action"], row["object_kind"], row["outcome"], row["status"]) == (
        "api:practitioner_agenda",
        "agenda",
        "read",
        200,
    )
    assert (row["actor_role"], row["actor_practitioner"], row["object_id"]) == (
        "secretary",
        w.x.practitioner_id,
        w.x.practitioner_id,
    ), "the row names the agenda the secretary read"
    assert set(row["profile_ids"]) == {w.anne.profile_id, w.paul.profile_id}
    with services.reads.pool.connection() as conn:
        seen_by_anne = audit_log.accesses_to(conn, [w.anne.profile_id])  # type: ignore[list-item]
    assert [r["action"] for r in seen_by_anne][:1] == ["api:practitioner_agenda"], "Anne's page finds it"

    # The practitioner revokes the grant: the same token sees nothing at once.
    services.app.revoke_secretary(w.x.actor, account_id, services.clock.now())  # type: ignore[arg-type]
    revoked = await client.get(url(w.x.practitioner_id), params=covering(w), headers=headers)
    assert_problem(revoked, 404)


async def test_everyone_else_gets_the_answer_of_an_unknown_practitioner(client, services):
    w = practice(services)
    x_id = w.x.practitioner_id
    for who in (w.y, w.stranger, w.anne):
        headers = await login(client, who)
        unknown = await client.get(url(uuid4()), params=covering(w), headers=headers)
        foreign = await client.get(url(x_id), params=covering(w), headers=headers)
        assert_problem(foreign, 404)
        assert (foreign.status_code, foreign.json()) == (unknown.status_code, unknown.json()), who.name
        bad_window = await client.get(url(x_id), params={"from": "soon"}, headers=headers)
        assert_problem(bad_window, 404)  # refused before the window is even read
    own = await login(client, w.x)
    assert (await client.get(url(uuid4()), headers=own)).status_code == 404
    assert (await client.get("/api/v1/practitioners/not-an-id/agenda", headers=own)).status_code == 404
    assert (await client.get(url(x_id))).status_code == 401
    assert (await client.get(url(x_id), headers={"authorization": "Bearer nope"})).status_code == 401


async def test_a_token_without_second_factor_gets_403(client, services):
    w = practice(services)
    token = await client.app.state.api_tokens.issue(w.x.actor, None)
    response = await client.get(url(w.x.practitioner_id), headers={"authorization": f"Bearer {token}"})
    assert assert_problem(response, 403)["code"] == "second_factor_required"
    assert not any(
        r["action"] == "api:practitioner_agenda" and r["outcome"] == "read"
        for r in access_rows(
            services,
            w.x.actor.account_id,  # type: ignore[union-attr]
        )
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-01T10:00:00+01:00", "to": "2026-12-01T10:00:00+01:00"}, "to"),
        ({"from": "2026-12-01T10:00:00+01:00", "to": "2026-12-01T09:00:00+01:00"}, "to"),
        ({"from": "2026-12-01T00:00:00+01:00", "to": "2027-01-01T00:00:01+01:00"}, "to"),
        ({"from": "2026-12-01T00:00:00+01:00", "to": "2027-03-01T00:00:00+01:00"}, "to"),
        ({"from": "2026-12-01T10:00:00"}, "from"),
        ({"from": "next tuesday"}, "from"),
        ({"from": "2026-12-01T10:00:00+01:00", "to": "1999-12-31T10:00:00Z"}, "to"),
        ({"from": "2026-10-15T00:00:00+02:00", "to": "2026-11-15T00:00:01+01:00"}, "to"),
    ],
)
async def test_bad_windows_answer_422_naming_the_field_and_record_nothing(client, services, params, field):
    w = practice(services)
    headers = await login(client, w.x)
    account_id = w.x.actor.account_id  # type: ignore[union-attr]
    before, logged = head(services), access_rows(services, account_id)
    response = await client.get(url(w.x.practitioner_id), params=params, headers=headers)
    body = assert_problem(response, 422)
    assert [e["name"] for e in body["errors"]] == [field]
    assert head(services) == before and access_rows(services, account_id) == logged


async def test_the_longest_window_is_31_calendar_days_in_the_practitioners_zone(client, services):
    w = practice(services)
    headers = await login(client, w.x)
    # 31 days and one hour: the clocks go back on 25 October 2026 in Paris.
    params = {"from": "2026-10-15T00:00:00+02:00", "to": "2026-11-15T00:00:00+01:00"}
    response = await client.get(url(w.x.practitioner_id), params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert (response.json()["starts_at"], response.json()["ends_at"]) == (params["from"], params["to"])
