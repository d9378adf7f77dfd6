"""From the practitioner's button to the patient's inbox: the page seals, the pipeline sends, the link works once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.http.pages_client import login, page_client, post_form
from tests.notifications.helpers import Clock, deliverer
from tests.notifications.smtp_server import SmtpServer
from tests.tele.invitation_pipeline import link_in, pipeline, rows
from tests.tele.test_pages import known_patient, open_by_page


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


async def test_the_page_opens_the_pipeline_sends_and_the_e_mailed_link_works_once(
    settings: Settings, services: Services, now: datetime, smtp: SmtpServer
) -> None:
    _staff, profile_id, staff_email = known_patient(services, now, "Inès", "Courriel")
    (manager,) = rows(
        settings,
        "SELECT acc.email FROM read.notify_profiles f JOIN read.notify_accounts acc ON acc.id = f.manager_id"
        " WHERE f.id = %s",
        profile_id,
    )
    async with page_client(settings, services) as pro, page_client(settings, services) as patient:
        assert (await login(pro, staff_email)).status_code == 303
        code, shown_link = await open_by_page(pro, profile_id)
        assert services.wait_for(services.app.recorder.max_notification_id() or 0, ("notifications",))
        (consultation,) = rows(
            settings, "SELECT id FROM read.notify_consultations WHERE profile_id = %s", profile_id
        )

        clock = Clock(datetime.now(now.tzinfo) + timedelta(seconds=5))
        d = deliverer(settings.database_url, smtp.port, clock)
        with pipeline(settings, d, clock, str(consultation["id"])) as running:
            await asyncio.to_thread(running.run)
        [mail] = [m for m in smtp.messages if m.recipients == [manager["email"]]]
        body = mail.message.get_body(("plain",)).get_content()
        assert code in body and link_in(body) == shown_link

        entered = await post_form(patient, f"/tele/invite/{link_in(body)}/use")
        assert entered.status_code == 303 and entered.headers["location"] == "/tele/identity"
        again = await post_form(patient, f"/tele/invite/{link_in(body)}/use")
        assert again.status_code == 410
