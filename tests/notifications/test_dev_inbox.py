"""`consulta dev`: a worker and a scheduler in-process (no Redis) deliver to the dev inbox page."""

from __future__ import annotations

from datetime import timedelta

from consulta.settings import Settings
from consulta.workers.process import InProcess
from tests.http.pages_client import page_client
from tests.notifications.helpers import book_ahead
from tests.notifications.processes import wait_until


def inbox(settings: Settings, recipient: str) -> list[tuple[str, str]]:
    from consulta.http.pages_inbox import inbox_messages

    return [
        (m["channel"], m["subject"])
        for m in inbox_messages(settings.database_url, "read")
        if m["recipient"] == recipient
    ]


async def test_booking_moving_and_cancelling_land_in_the_dev_inbox(services, settings, now):
    notifier = InProcess.start(settings)
    try:
        booked = book_ahead(services, now, 10)
        wait_until(lambda: inbox(settings, booked.email), timeout=20, what="the confirmation")
        card = services.reads.practitioner(booked.practitioner_id)
        later = services.reads.free_slots(
            card, "consult", booked.starts_at + timedelta(days=1), booked.starts_at + timedelta(days=5), now
        )[0]
        moved = services.app.reschedule(booked.patient, booked.id, later.starts_at, now)
        assert services.wait_for(moved.position, ("notifications",))
        wait_until(
            lambda: any("déplacé" in s for _, s in inbox(settings, booked.email)),
            timeout=20,
            what="the move notice",
        )
        cancelled = services.app.cancel(booked.patient, booked.id, "", now)
        assert services.wait_for(cancelled.position, ("notifications",))
        wait_until(
            lambda: any("annulé" in s for _, s in inbox(settings, booked.email)),
            timeout=20,
            what="the cancel notice",
        )
        subjects = [s.split(" :")[0] for c, s in inbox(settings, booked.email) if c == "email"]
        assert sorted(subjects) == ["Rendez-vous annulé", "Rendez-vous confirmé", "Rendez-vous déplacé"]
        async with page_client(settings, services) as client:
            page = await client.get("/dev/inbox")
        assert page.status_code == 200 and booked.email in page.text and "Rendez-vous déplacé" in page.text
    finally:
        notifier.stop()


async def test_the_inbox_page_is_not_there_in_production(settings, services, redis_url):
    production = settings.with_(environment="production", redis_url=redis_url)
    from dataclasses import replace

    async with page_client(production, replace(services, settings=production)) as client:
        response = await client.get("/dev/inbox")
    assert response.status_code == 404
