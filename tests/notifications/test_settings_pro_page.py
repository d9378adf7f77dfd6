"""Reminders and alerts: the practice's reminder policy per motif, and the daily agenda summary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.notifications.settings_helpers import Logged, head, logged_in, post_form, read_rows

POLICIES = "SELECT motif_id, policy FROM read.notify_policies WHERE practitioner_id = %s ORDER BY motif_id"


@pytest.fixture(scope="module")
async def logged(settings: Settings, services: Services) -> AsyncIterator[Logged]:
    async with logged_in(settings, services, "practitioner_x", "secretary_x") as found:
        yield found


def form(practitioner_id: Any, motif: str, **fields: str) -> dict[str, str]:
    return {"practitioner_id": str(practitioner_id), "motif_id": motif, **fields}


async def test_the_page_lists_each_motif_with_the_default_policy(logged: Logged) -> None:
    client = logged.clients["practitioner_x"]
    agenda = await client.get("/pro/agenda")
    assert 'href="/pro/reminders"' in agenda.text
    page = await client.get("/pro/reminders")
    assert page.status_code == 200
    for motif in ("Every motif without its own policy", "Consultation", "Long consultation", "First visit"):
        assert motif in page.text
    assert page.text.count("the default") >= 4
    for rule in (
        "E-mail 7 days before, when booked more than 7 days ahead",
        "E-mail 1 day before",
        "SMS 2 days before, when booked more than 7 days ahead",
        "SMS 1 day before, when booked at most 7 days ahead",
    ):
        assert rule in page.text
    assert 'name="days_3" min="1" max="30" value="1"' in page.text  # the form starts from the policy in force
    assert 'name="channel_4"' in page.text  # and a free line


async def test_the_practitioner_sets_a_motif_policy_and_the_page_shows_it(
    logged: Logged, settings: Settings
) -> None:
    client, x = logged.clients["practitioner_x"], logged.world.practitioner_x
    fields = {"email": "on", "channel_0": "email", "days_0": "3", "channel_1": "sms", "days_1": "1"}
    saved = await post_form(client, "/pro/reminders/policy", form(x.practitioner_id, "long", **fields))
    assert saved.status_code == 303 and saved.headers["location"] == "/pro/reminders?motif=long&done=saved"
    assert read_rows(settings, POLICIES, x.practitioner_id) == [
        {
            "motif_id": "long",
            "policy": {
                "email": True,
                "sms": False,
                "reminders": [{"channel": "email", "days_before": 3}, {"channel": "sms", "days_before": 1}],
            },
        }
    ]
    page = await client.get(saved.headers["location"])
    assert "its own" in page.text and "E-mail 3 days before" in page.text
    assert 'name="days_0" min="1" max="30" value="3"' in page.text


async def test_a_secretary_of_the_practice_sets_the_policy_for_every_motif(
    logged: Logged, settings: Settings
) -> None:
    client, x = logged.clients["secretary_x"], logged.world.practitioner_x
    page = await client.get("/pro/reminders")
    assert page.status_code == 200 and 'href="/pro/reminders"' in page.text
    fields = {"email": "on", "sms": "on", "channel_0": "sms", "days_0": "2", "more_0": "3"}
    saved = await post_form(client, "/pro/reminders/policy", form(x.practitioner_id, "*", **fields))
    assert saved.status_code == 303
    rows = {r["motif_id"]: r["policy"] for r in read_rows(settings, POLICIES, x.practitioner_id)}
    assert rows["*"]["reminders"] == [{"channel": "sms", "days_before": 2, "booked_more_than_days": 3}]
    page = await client.get("/pro/reminders")
    assert "the one for every motif" in page.text  # motifs without their own follow "*" now


async def test_a_motif_policy_is_removed_from_the_page_and_the_motif_follows_every_motif_again(
    logged: Logged, settings: Settings, services: Services
) -> None:
    client, x = logged.clients["practitioner_x"], logged.world.practitioner_x
    fields = {"email": "on", "channel_0": "email", "days_0": "5"}
    assert (
        await post_form(client, "/pro/reminders/policy", form(x.practitioner_id, "first", **fields))
    ).status_code == 303
    page = await client.get("/pro/reminders?motif=first")
    assert (
        "Remove this motif's own policy" in page.text and 'action="/pro/reminders/policy/remove"' in page.text
    )
    removed = await post_form(client, "/pro/reminders/policy/remove", form(x.practitioner_id, "first"))
    assert (
        removed.status_code == 303
        and removed.headers["location"] == "/pro/reminders?motif=first&done=removed"
    )
    assert "first" not in {r["motif_id"] for r in read_rows(settings, POLICIES, x.practitioner_id)}
    page = await client.get(removed.headers["location"])
    assert "This motif follows the policy for every motif again" in page.text
    assert 'action="/pro/reminders/policy/remove"' not in page.text  # nothing of its own left to remove

    before = head(services)  # a second click (another tab): nothing to remove, nothing recorded
    again = await post_form(client, "/pro/reminders/policy/remove", form(x.practitioner_id, "first"))
    assert again.status_code == 303 and again.headers["location"] == "/pro/reminders?motif=first"
    assert head(services) == before


async def test_the_policy_for_every_motif_goes_back_to_the_default(
    logged: Logged, settings: Settings
) -> None:
    client, x = logged.clients["secretary_x"], logged.world.practitioner_x
    fields = {"sms": "on", "channel_0": "sms", "days_0": "3"}
    assert (
        await post_form(client, "/pro/reminders/policy", form(x.practitioner_id, "*", **fields))
    ).status_code == 303
    page = await client.get("/pro/reminders?motif=*")
    assert "Go back to the default policy" in page.text
    removed = await post_form(client, "/pro/reminders/policy/remove", form(x.practitioner_id, "*"))
    assert removed.headers["location"] == "/pro/reminders?motif=%2A&done=removed"
    assert "*" not in {r["motif_id"] for r in read_rows(settings, POLICIES, x.practitioner_id)}
    page = await client.get(removed.headers["location"])
    assert (
        "The default policy applies again" in page.text and "Go back to the default policy" not in page.text
    )


@pytest.mark.parametrize(
    ("motif", "fields", "message"),
    [
        ("surgery", {"channel_0": "email", "days_0": "1"}, "Unknown motif"),
        ("", {"channel_0": "email", "days_0": "1"}, "Unknown motif"),
        ("consult", {"channel_0": "fax", "days_0": "1"}, "e-mail or SMS"),
        ("consult", {"channel_0": "email", "days_0": "90"}, "1 to 30 days"),
        ("consult", {"channel_0": "email", "days_0": "soon"}, "1 to 30 days"),
        ("consult", {"channel_0": "email", "days_0": ""}, "1 to 30 days"),
        ("consult", {"channel_0": "sms", "days_0": "2", "more_0": "a week"}, "whole numbers"),
    ],
)
async def test_bad_policies_are_refused_clearly_and_record_nothing(
    logged: Logged, services: Services, motif: str, fields: dict[str, str], message: str
) -> None:
    client, x = logged.clients["practitioner_x"], logged.world.practitioner_x
    before = head(services)
    refused = await post_form(
        client, "/pro/reminders/policy", form(x.practitioner_id, motif, email="on", **fields)
    )
    assert refused.status_code == 422
    assert message in refused.text and 'role="alert"' in refused.text
    assert head(services) == before


@pytest.mark.parametrize("hour", ["25", "-1", "24", "7h", "", "007"])
async def test_a_summary_hour_out_of_the_day_is_refused_and_records_nothing(
    logged: Logged, services: Services, hour: str
) -> None:
    client, x = logged.clients["practitioner_x"], logged.world.practitioner_x
    before = head(services)
    fields = {"practitioner_id": str(x.practitioner_id), "enabled": "on", "hour": hour}
    refused = await post_form(client, "/pro/reminders/summary", fields)
    assert refused.status_code == 422 and "Choose an hour from 00:00 to 23:00" in refused.text
    assert head(services) == before


async def test_the_practitioner_turns_the_daily_summary_on_at_six(logged: Logged, services: Services) -> None:
    client, x = logged.clients["practitioner_x"], logged.world.practitioner_x
    before = head(services)
    fields = {"practitioner_id": str(x.practitioner_id), "enabled": "on", "hour": "6"}
    saved = await post_form(client, "/pro/reminders/summary", fields)
    assert saved.status_code == 303 and saved.headers["location"] == "/pro/reminders?done=summary"
    assert head(services) > before
    page = await client.get(saved.headers["location"])
    assert 'id="summary-enabled" name="enabled" value="on" checked' in page.text
    assert '<option value="6" selected>06:00</option>' in page.text


async def test_the_page_speaks_french(logged: Logged) -> None:
    client = logged.clients["practitioner_x"]
    client.cookies.set("lang", "fr")
    try:
        page = await client.get("/pro/reminders")
        assert "Rappels et alertes" in page.text and "Résumé quotidien de l'agenda par e-mail" in page.text
    finally:
        client.cookies.set("lang", "en")
