"""Teleconsultation invitations go through the notifications pipeline: projection, scheduler, worker.

Real PostgreSQL, the real projection runners, the scheduler, the `deliver`
actor on a dramatiq worker, an aiosmtpd server and a local SMS gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from consulta.aggregates.consultation import ConsultationAccessError
from consulta.services import Services
from consulta.settings import Settings
from tests.notifications.helpers import Clock, deliverer
from tests.notifications.sms_gateway import SmsGateway
from tests.notifications.smtp_server import SmtpServer
from tests.tele.invitation_pipeline import (
    MOTIF,
    SPECIALTY,
    due,
    link_in,
    next_local,
    open_invited,
    pipeline,
    rows,
    secrets_in,
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway() as running:
        yield running


def test_the_e_mail_and_the_sms_arrive_through_the_pipeline_and_the_link_works_once(
    services: Services,
    settings: Settings,
    now: datetime,
    smtp: SmtpServer,
    gateway: SmsGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    opened = open_invited(services, now)
    clock = Clock(next_local(now, 12))  # midday in Paris: no quiet hours, before the consultation
    d = deliverer(settings.database_url, smtp.port, clock, gateway.url)
    caplog.set_level(logging.DEBUG)
    with pipeline(settings, d, clock, str(opened.id)) as running:
        running.run()

    [mail] = [m for m in smtp.messages if m.recipients == [opened.email]]
    body = mail.message.get_body(("plain",)).get_content()
    assert opened.invitation.code in body and "https://consulta.example/join" in body and "112" in body
    assert link_in(body) == opened.invitation.link_token
    assert mail.message["Subject"].startswith(
        "Votre téléconsultation avec Dr Claire Martin"
    )  # French: no choice
    [sms] = [s for s in gateway.received if s["to"] == opened.phone]
    assert opened.invitation.code in sms["text"] and secrets_in(sms["text"], opened.invitation) == ["code"]
    for health in (SPECIALTY, MOTIF, "Dr Claire Martin"):
        assert health.lower() not in sms["text"].lower()
    assert {r["outcome"] for r in due(settings, opened).values()} == {"sent"}

    # The link works once (the command behind POST /tele/invite/<token>/use), the code at /join in its window.
    services.app.use_invitation_link(link_in(body), clock.now)
    with pytest.raises(ConsultationAccessError):
        services.app.use_invitation_link(link_in(body), clock.now)
    assert services.app.find_by_code(opened.invitation.code, opened.starts_at) == opened.id

    # Nowhere in clear: the due rows, the sealed copy's row, the dramatiq messages, the logs.
    due_text = "\n".join(str(r) for r in due(settings, opened).values())
    consultation_text = str(
        rows(settings, "SELECT * FROM read.notify_consultations WHERE id = %s", opened.id)
    )
    queued = b"\n".join(running.payloads).decode()
    assert opened.key("email") in queued and opened.key("sms") in queued  # the keys, and nothing else of ours
    for name, text in {
        "due rows": due_text,
        "notify_consultations": consultation_text,
        "dramatiq messages": queued,
        # Consulta's logs and the libraries' it runs; not the test's SMTP server ("mail.log", aiosmtpd),
        # which is the recipient's side and logs the message lines it reads at DEBUG.
        "logs": "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log"),
    }.items():
        assert secrets_in(text, opened.invitation) == [], f"a secret in the {name}"
    assert any(r.name == "consulta.workers.actors" for r in caplog.records)  # the worker's logs were captured


def test_an_invitation_in_the_quiet_hours_waits_for_the_morning_but_the_e_mail_goes_now(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer, gateway: SmsGateway
) -> None:
    opened = open_invited(services, now)  # two days ahead or more, in opening hours
    clock = Clock(next_local(now, 23))
    d = deliverer(settings.database_url, smtp.port, clock, gateway.url)
    assert d.deliver(opened.key("sms")) == "postponed: quiet hours"
    assert d.deliver(opened.key("email")) == "sent"
    assert due(settings, opened)["sms"]["due_at"] == next_local(clock.now, 8)
    assert not [s for s in gateway.received if s["to"] == opened.phone]
    clock.now = next_local(clock.now, 8, 5)
    assert d.deliver(opened.key("sms")) == "sent"


def test_no_sms_when_the_consultation_starts_before_the_quiet_hours_end(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer, gateway: SmsGateway
) -> None:
    at = next_local(now, 22, 30)  # a consultation opened at 22:30 for now: the SMS would come at 08:00
    opened = open_invited(services, now, at=at, adhoc=True)
    d = deliverer(settings.database_url, smtp.port, Clock(at + timedelta(minutes=1)), gateway.url)
    assert d.deliver(opened.key("sms")) == "skipped: quiet hours until after the start"
    assert d.deliver(opened.key("email")) == "sent"
    assert not [s for s in gateway.received if s["to"] == opened.phone]
