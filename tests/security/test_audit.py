"""The access log: reads of health data and refusals recorded (who, what, when, outcome), append-only, shown to the patient."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from consulta.projections import audit_log
from tests.security.scenario import Seeded


def rows_about(world: Seeded, profile_id) -> list[dict]:  # type: ignore[no-untyped-def]
    with world.world_services.reads.pool.connection() as conn:
        return audit_log.accesses_to(conn, [profile_id], limit=10_000)


async def test_reads_and_refusals_are_recorded_and_shown_to_the_patient(world: Seeded) -> None:
    w = world.world
    a_appointment, a_profile = w.patient_a.appointment_id, w.patient_a.profile_id
    x, y = w.practitioner_x, w.practitioner_y
    before = len(rows_about(world, a_profile))

    seen = await world.clients[x.name].get(f"/pro/appointments/{a_appointment}")
    assert seen.status_code == 200
    starts = world.world_services.reads.appointment_for_account(w.patient_a.actor.account_id, a_appointment)[
        "starts_at"
    ]  # type: ignore[union-attr,index]
    day = starts.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    assert (await world.clients[x.name].get("/pro/agenda", params={"day": day})).status_code == 200
    refused = await world.clients[y.name].get(f"/pro/appointments/{a_appointment}")
    assert refused.status_code == 404
    probed = await world.clients[w.patient_b.name].get(f"/api/v1/appointments/{a_appointment}")
    assert probed.status_code == 404
    anonymous = await world.clients["anonymous"].get(f"/api/v1/appointments/{a_appointment}")
    assert anonymous.status_code == 401

    rows = rows_about(world, a_profile)[: len(rows_about(world, a_profile)) - before]
    found = {(r["actor_account"], r["outcome"], r["action"], r["status"]) for r in rows}
    assert (x.actor.account_id, "read", "pro_appointment", 200) in found  # type: ignore[union-attr]
    assert (x.actor.account_id, "read", "pro_day", 200) in found, "the agenda names each patient it shows"  # type: ignore[union-attr]
    assert (y.actor.account_id, "refused", "pro_appointment", 404) in found  # type: ignore[union-attr]
    assert (w.patient_b.actor.account_id, "refused", "api:my_appointment", 404) in found  # type: ignore[union-attr]
    assert (None, "refused", "api:my_appointment", 401) in found
    singles = [r for r in rows if r["action"] != "pro_day"]
    assert all(r["object_id"] == a_appointment and r["at"] is not None for r in singles), rows
    listing = [r for r in rows if r["action"] == "pro_day"]
    assert len(listing) == 1 and a_profile in listing[0]["profile_ids"], (
        "the day view is one row naming the profiles shown"
    )

    page = await world.clients[w.patient_a.name].get("/my/access")
    assert page.status_code == 200
    assert "Xavier Morel" in page.text and "Yvonne Petit" in page.text
    assert "Consulté" in page.text and "Refusé" in page.text
    other = await world.clients[w.patient_b.name].get("/my/access")
    assert not read_by(other.text, "Xavier Morel"), "B sees only accesses to B's profiles"
    assert (await world.clients["anonymous"].get("/my/access", follow_redirects=False)).status_code == 303


def read_by(html: str, name: str) -> list[str]:
    """The /my/access rows where `name` read the data (Consulté). X may never read B's data; refusals of X's
    attempts on B, which other tests of the session make (the authorization matrix), are B's to see."""
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>") if "<tbody>" in html else []
    return [row for row in rows if name in row and "Consulté" in row]


def first_entry(html: str) -> str:
    """The latest row of the /my/access table."""
    return html.split("<tbody>", 1)[1].split("</tr>", 1)[0] if "<tbody>" in html else ""


async def test_a_week_view_is_one_row_shown_to_each_patient_it_showed(world: Seeded) -> None:
    w = world.world
    x, a_profile, b_profile = w.practitioner_x, w.patient_a.profile_id, w.patient_b.profile_id
    starts = world.world_services.reads.appointment_for_account(
        w.patient_a.actor.account_id, w.patient_a.appointment_id
    )["starts_at"]  # type: ignore[union-attr,index]
    day = starts.astimezone(ZoneInfo("Europe/Paris")).date()
    before_a, before_b = len(rows_about(world, a_profile)), len(rows_about(world, b_profile))
    with world.world_services.reads.pool.connection() as conn:
        total = conn.execute("SELECT count(*) AS n FROM audit.access_log").fetchone()["n"]  # type: ignore[index,call-overload]

    week = await world.clients[x.name].get(
        "/pro/agenda/week", params={"start": (day - timedelta(days=day.weekday())).isoformat()}
    )
    assert week.status_code == 200 and "Aubert" in week.text

    with world.world_services.reads.pool.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM audit.access_log").fetchone()["n"] == total + 1, (
            "one row per view"
        )  # type: ignore[index,call-overload]
    new_a = rows_about(world, a_profile)[: len(rows_about(world, a_profile)) - before_a]
    assert [(r["action"], r["actor_account"], r["outcome"]) for r in new_a] == [
        ("pro_week", x.actor.account_id, "read")
    ]  # type: ignore[union-attr]
    assert a_profile in new_a[0]["profile_ids"] and b_profile not in new_a[0]["profile_ids"]
    assert len(rows_about(world, b_profile)) == before_b, "B was not shown: nothing new about B"
    a_page = (await world.clients[w.patient_a.name].get("/my/access")).text
    b_page = (await world.clients[w.patient_b.name].get("/my/access")).text
    assert "Xavier Morel" in first_entry(a_page) and "Consulté" in first_entry(a_page)
    assert not read_by(b_page, "Xavier Morel")


def test_the_access_log_is_append_only(world: Seeded) -> None:
    with world.world_services.reads.pool.connection() as conn:
        assert conn.execute("SELECT count(*) AS n FROM audit.access_log").fetchone()["n"] > 0  # type: ignore[index,call-overload]
    for statement in (
        "UPDATE audit.access_log SET outcome = 'read'",
        "DELETE FROM audit.access_log",
        "TRUNCATE audit.access_log",
    ):
        with (
            world.world_services.reads.pool.connection() as conn,
            pytest.raises(psycopg.errors.RaiseException, match="append-only"),
        ):
            conn.execute(statement)


async def test_no_health_data_leaves_unrecorded(world: Seeded) -> None:
    """If the access log cannot be written, the answer is a 503 without the data, not an unrecorded read."""
    w = world.world
    url = f"/pro/appointments/{w.patient_a.appointment_id}"
    client = world.clients[w.practitioner_x.name]
    assert "Aubert" in (await client.get(url)).text
    with world.world_services.reads.pool.connection() as conn:
        conn.execute("ALTER TABLE audit.access_log RENAME TO access_log_away")
    try:
        answer = await client.get(url)
        public = await world.clients["anonymous"].get("/")
    finally:
        with world.world_services.reads.pool.connection() as conn:
            conn.execute("ALTER TABLE audit.access_log_away RENAME TO access_log")
    assert answer.status_code == 503 and "Aubert" not in answer.text
    assert public.status_code == 200, "pages that read no health data do not need the log"
