"""My notifications: a patient turns channels on or off and chooses the zone of the SMS quiet hours."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consulta.aggregates.notification_settings import NotificationPreferences
from consulta.http.pages_notify_patient import ZONES
from consulta.services import Services
from consulta.settings import Settings
from tests.notifications.settings_helpers import Logged, head, logged_in, post_form, read_rows

PREFS = "SELECT email, sms, timezone FROM read.notify_preferences WHERE account_id = %s"


@pytest.fixture(scope="module")
async def logged(settings: Settings, services: Services) -> AsyncIterator[Logged]:
    async with logged_in(settings, services, "patient_a", "patient_b") as found:
        yield found


def test_every_zone_offered_is_one_zoneinfo_knows() -> None:
    from zoneinfo import available_timezones

    known = available_timezones()
    assert {"Europe/Paris", "America/Martinique", "Pacific/Noumea", "America/Miquelon"} <= dict(ZONES).keys()
    assert [z for z, _ in ZONES if z not in known] == []


async def test_the_page_shows_the_defaults_and_is_linked_from_the_account_page(logged: Logged) -> None:
    client = logged.clients["patient_b"]
    account = await client.get("/account")
    assert 'href="/my/notifications"' in account.text
    page = await client.get("/my/notifications")
    assert page.status_code == 200
    assert 'name="email" value="on" checked' in page.text and 'name="sms" value="on" checked' in page.text
    assert '<option value="" selected' not in page.text  # nothing chosen: the practice's zone, first
    assert '<option value="America/Martinique">' in page.text and "Pacific/Noumea" in page.text


async def test_a_patient_saves_channels_and_zone(
    logged: Logged, settings: Settings, services: Services
) -> None:
    client, a = logged.clients["patient_a"], logged.world.patient_a
    saved = await post_form(client, "/my/notifications/save", {"email": "on", "zone": "America/Martinique"})
    assert saved.status_code == 303 and saved.headers["location"] == "/my/notifications?done=saved"
    # the redirect came after the read model caught up: the next page shows the choice
    assert read_rows(settings, PREFS, a.actor.account_id) == [
        {"email": True, "sms": False, "timezone": "America/Martinique"}
    ]
    page = await client.get(saved.headers["location"])
    assert 'role="status"' in page.text
    assert 'name="sms" value="on">' in page.text  # unchecked now
    assert '<option value="America/Martinique" selected>' in page.text
    stored = services.app.repository.get(NotificationPreferences.id_for(a.actor.account_id))
    assert (stored.email, stored.sms, stored.zone) == (True, False, "America/Martinique")
    back = await post_form(client, "/my/notifications/save", {"email": "on", "sms": "on", "zone": ""})
    assert back.status_code == 303
    assert read_rows(settings, PREFS, a.actor.account_id) == [{"email": True, "sms": True, "timezone": None}]


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Paris" + "x" * 80, "UTC+2"]
)
async def test_an_unknown_zone_is_refused_clearly_and_records_nothing(
    logged: Logged, settings: Settings, services: Services, zone: str
) -> None:
    client, b = logged.clients["patient_b"], logged.world.patient_b
    before = head(services)
    refused = await post_form(client, "/my/notifications/save", {"email": "on", "zone": zone})
    assert refused.status_code == 422
    assert "Unknown time zone" in refused.text or "Fuseau horaire inconnu" in refused.text
    assert head(services) == before  # the channels (SMS off here) were not recorded either
    assert read_rows(settings, PREFS, b.actor.account_id) == []


async def test_the_page_speaks_french_and_english(logged: Logged) -> None:
    client = logged.clients["patient_b"]
    client.cookies.set("lang", "fr")
    assert "Mes notifications" in (await client.get("/my/notifications")).text
    client.cookies.set("lang", "en")
    assert "My notifications" in (await client.get("/my/notifications")).text


async def test_visitors_are_sent_to_log_in(settings: Settings, services: Services) -> None:
    from tests.http.pages_client import page_client

    async with page_client(settings, services) as client:
        before = head(services)
        page = await client.get("/my/notifications", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        posted = await post_form(client, "/my/notifications/save", {"sms": "", "zone": "Europe/Paris"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login?next=")
        assert head(services) == before
