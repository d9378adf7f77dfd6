"""Who may use the notification settings pages: each their own, nobody another practice's.

Principals from tests/accounts/principals.py: patients A and B, practitioners X
and Y, X's secretary. Every refusal records nothing (the event log's head does
not move) and looks like a missing page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.notifications.settings_helpers import Logged, head, logged_in, post_form, read_rows

POLICY = {"email": "on", "sms": "on", "channel_0": "sms", "days_0": "1"}
NAMES = ("patient_a", "practitioner_x", "practitioner_y", "secretary_x")


@pytest.fixture(scope="module")
async def logged(settings: Settings, services: Services) -> AsyncIterator[Logged]:
    async with logged_in(settings, services, *NAMES) as found:
        yield found


def policies_of(settings: Settings, practitioner_id: object) -> list[dict[str, object]]:
    return read_rows(
        settings, "SELECT * FROM read.notify_policies WHERE practitioner_id = %s", practitioner_id
    )


async def test_a_patient_cannot_reach_the_practitioner_page_nor_change_a_policy(
    logged: Logged, settings: Settings, services: Services
) -> None:
    client, x = logged.clients["patient_a"], logged.world.practitioner_x
    assert (await client.get("/pro/reminders")).status_code == 404
    before = head(services)
    for url, data in (
        ("/pro/reminders/policy", {"practitioner_id": str(x.practitioner_id), "motif_id": "*", **POLICY}),
        ("/pro/reminders/summary", {"practitioner_id": str(x.practitioner_id), "enabled": "on", "hour": "6"}),
    ):
        assert (await post_form(client, url, data)).status_code == 404
    assert head(services) == before and policies_of(settings, x.practitioner_id) == []


@pytest.mark.parametrize("intruder", ["practitioner_y", "secretary_x"])
async def test_another_practices_staff_cannot_change_its_policy(
    logged: Logged, settings: Settings, services: Services, intruder: str
) -> None:
    """Y for X's practice, and X's secretary for Y's: the form names the practice, the command refuses."""
    client = logged.clients[intruder]
    target = logged.world.practitioner_y if intruder == "secretary_x" else logged.world.practitioner_x
    before = head(services)
    data = {"practitioner_id": str(target.practitioner_id), "motif_id": "consult", **POLICY}
    refused = await post_form(client, "/pro/reminders/policy", data)
    assert refused.status_code == 404
    assert head(services) == before and policies_of(settings, target.practitioner_id) == []
    own = await client.get("/pro/reminders")  # their own page shows their own practice only
    assert own.status_code == 200 and str(target.practitioner_id) not in own.text


async def test_another_practices_staff_cannot_change_its_daily_summary(
    logged: Logged, services: Services
) -> None:
    client, x = logged.clients["practitioner_y"], logged.world.practitioner_x
    before = head(services)
    data = {"practitioner_id": str(x.practitioner_id), "enabled": "on", "hour": "6"}
    assert (await post_form(client, "/pro/reminders/summary", data)).status_code == 404
    assert head(services) == before


async def test_staff_have_no_patient_notification_page(logged: Logged, services: Services) -> None:
    client = logged.clients["practitioner_x"]
    before = head(services)
    page = await client.get("/my/notifications", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    saved = await post_form(client, "/my/notifications/save", {"zone": "Europe/Paris"})
    assert saved.status_code == 303 and saved.headers["location"].startswith("/login")
    assert head(services) == before


async def test_a_malformed_practice_id_is_a_plain_bad_request(logged: Logged, services: Services) -> None:
    client = logged.clients["practitioner_x"]
    before = head(services)
    refused = await post_form(
        client, "/pro/reminders/policy", {"practitioner_id": "x", "motif_id": "*", **POLICY}
    )
    assert refused.status_code == 400
    assert head(services) == before


@pytest.mark.parametrize("intruder", ["patient_a", "secretary_x"])
async def test_nobody_outside_the_practice_removes_its_motif_policy(
    logged: Logged, settings: Settings, services: Services, intruder: str
) -> None:
    owner, y = logged.clients["practitioner_y"], logged.world.practitioner_y
    data = {"practitioner_id": str(y.practitioner_id), "motif_id": "consult"}
    assert (await post_form(owner, "/pro/reminders/policy", {**data, **POLICY})).status_code == 303
    try:
        before = head(services)
        refused = await post_form(logged.clients[intruder], "/pro/reminders/policy/remove", data)
        assert refused.status_code == 404
        assert head(services) == before and len(policies_of(settings, y.practitioner_id)) == 1
    finally:  # Y removes it: the other tests expect Y without a policy
        assert (await post_form(owner, "/pro/reminders/policy/remove", data)).status_code == 303
    assert policies_of(settings, y.practitioner_id) == []
