"""Invitations through the pipeline when things go wrong: SMTP down, duplicates, an ended consultation, a wrong key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from consulta.cli import main
from consulta.invitation_seal import open_in_this_process
from consulta.services import Services
from consulta.settings import Settings
from tests.notifications.helpers import Clock, deliverer
from tests.notifications.sms_gateway import SmsGateway
from tests.notifications.smtp_server import SmtpServer
from tests.tele.invitation_pipeline import due, next_local, open_invited, pipeline, sealed


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway() as running:
        yield running


def test_smtp_down_then_up_sends_the_invitation_once(
    services: Services, settings: Settings, now: datetime, gateway: SmsGateway
) -> None:
    opened = open_invited(services, now)
    clock = Clock(next_local(now, 12))
    server = SmtpServer()  # not listening yet
    d = deliverer(settings.database_url, server.port, clock, gateway.url)
    with pipeline(settings, d, clock, str(opened.id)) as running:
        running.run()
        row = due(settings, opened)["email"]
        assert (
            row["done_at"] is None
            and row["attempts"] == 1
            and row["due_at"] == clock.now + timedelta(seconds=15)
        )
        assert sealed(settings, opened) is not None  # kept for the retry
        server.start()
        try:
            clock.now += timedelta(seconds=16)
            running.run()
            clock.now += timedelta(minutes=5)
            running.run()  # nothing left to send
        finally:
            server.stop()
    assert [m.recipients for m in server.messages] == [[opened.email]]
    assert due(settings, opened)["email"]["outcome"] == "sent"


def test_the_same_message_twice_sends_one_e_mail(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer, gateway: SmsGateway
) -> None:
    opened = open_invited(services, now)
    clock = Clock(next_local(now, 12))
    d = deliverer(settings.database_url, smtp.port, clock, gateway.url)
    with pipeline(settings, d, clock, str(opened.id), copies=3) as running:
        running.run()
    assert d.deliver(opened.key("email")) == "already done"
    assert len(running.payloads) in (3, 6)  # both keys in one message or one each, three times over
    assert len([m for m in smtp.messages if m.recipients == [opened.email]]) == 1
    assert len([s for s in gateway.received if s["to"] == opened.phone]) == 1


def test_after_the_end_the_pending_invitation_is_skipped_and_its_sealed_copy_erased(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer, gateway: SmsGateway
) -> None:
    opened = open_invited(services, now)
    assert sealed(settings, opened)
    ended = services.app.end_consultation(opened.staff, opened.id, "phone", now)
    assert services.wait_for(ended.position, ("notifications",))
    assert sealed(settings, opened) is None
    d = deliverer(settings.database_url, smtp.port, Clock(next_local(now, 12)), gateway.url)
    assert d.deliver(opened.key("email")) == "skipped: expired"
    assert d.deliver(opened.key("sms")) == "skipped: expired"
    assert not [m for m in smtp.messages if m.recipients == [opened.email]]


def test_once_the_code_has_expired_the_invitation_is_skipped_and_erased(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer
) -> None:
    opened = open_invited(services, now)
    d = deliverer(settings.database_url, smtp.port, Clock(opened.ends_at + timedelta(seconds=1)))
    assert d.deliver(opened.key("email")) == "skipped: expired"
    assert sealed(settings, opened) is None
    assert not [m for m in smtp.messages if m.recipients == [opened.email]]


def test_a_key_that_cannot_open_the_seal_is_a_dead_letter_then_a_retry_sends_it(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer
) -> None:
    opened = open_invited(services, now)
    clock = Clock(next_local(now, 12))
    d = deliverer(settings.database_url, smtp.port, clock)
    open_in_this_process("not-the-web-key")
    try:
        with pipeline(settings, d, clock, str(opened.id)) as running:
            running.run()  # no exception escapes the actor: no crash loop
    finally:
        open_in_this_process(settings.secret_key)
    row = due(settings, opened)["email"]
    assert row["failed_at"] is not None and row["done_at"] is None and row["attempts"] == 1
    assert "cannot be opened" in row["last_error"] and "CONSULTA_SECRET_KEY" in row["last_error"]
    assert not [m for m in smtp.messages if m.recipients == [opened.email]]

    env = {"DATABASE_URL": settings.database_url, "CONSULTA_ENV": "test"}
    listed = CliRunner().invoke(main, ["notifications", "failed"], env=env)
    assert opened.key("email") in listed.output and "cannot be opened" in listed.output
    assert CliRunner().invoke(main, ["notifications", "retry", opened.key("email")], env=env).exit_code == 0
    with pipeline(settings, d, clock, str(opened.id)) as running:
        running.run()
    assert len([m for m in smtp.messages if m.recipients == [opened.email]]) == 1


def test_after_a_key_rotation_the_worker_opens_the_seal_with_the_previous_key(
    services: Services, settings: Settings, now: datetime, smtp: SmtpServer
) -> None:
    """Sealed by the web under the old key; the worker restarted with a new key and the old one listed."""
    opened = open_invited(services, now)
    clock = Clock(next_local(now, 12))
    d = deliverer(settings.database_url, smtp.port, clock)
    open_in_this_process("the-new-web-key", (settings.secret_key,))
    try:
        with pipeline(settings, d, clock, str(opened.id)) as running:
            running.run()
    finally:
        open_in_this_process(settings.secret_key)
    assert due(settings, opened)["email"]["outcome"] == "sent"
    assert [m.recipients for m in smtp.messages if m.recipients == [opened.email]] == [[opened.email]]
