"""`consulta notifications failed|retry`, and the worker and scheduler services of compose.yaml."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from consulta.cli import main
from tests.notifications.helpers import Clock, book_ahead, deliverer, due_rows
from tests.notifications.smtp_server import SmtpServer
from tests.ops.conftest import load_compose
from tests.ops.test_compose_file import resolve


@pytest.mark.parametrize("name", ["worker", "scheduler"])
def test_compose_runs_the_worker_and_the_scheduler_with_health_checks(name: str) -> None:
    service = load_compose()["services"][name]
    resolve(service["command"])
    assert service["healthcheck"]["test"][0] == "CMD"
    assert service["depends_on"]["redis"]["condition"] == "service_healthy"


def test_a_refused_message_is_listed_as_failed_then_retried(services, settings, now, monkeypatch) -> None:
    booked = book_ahead(services, now, 10)
    key = f"confirmation:email:{booked.id}"
    smtp = SmtpServer().start()
    try:
        smtp.handler.reply = "550 5.1.1 No such mailbox"
        d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=1)))
        assert d.deliver(key) == "failed: SMTP server answered 550 5.1.1 No such mailbox"
        monkeypatch.setenv("DATABASE_URL", settings.database_url)
        runner = CliRunner()
        listed = runner.invoke(main, ["notifications", "failed"])
        assert listed.exit_code == 0 and key in listed.output and "550" in listed.output
        assert booked.email not in listed.output  # no personal data
        assert runner.invoke(main, ["notifications", "retry", "confirmation:email:nope"]).exit_code == 1
        retried = runner.invoke(main, ["notifications", "retry", key])
        assert retried.exit_code == 0, retried.output
        row = due_rows(settings.database_url, key=key)[0]
        assert row["failed_at"] is None and row["claimed_at"] is None and row["attempts"] == 0
        smtp.handler.reply = None
        d.clock.now = now + timedelta(minutes=1)
        assert d.deliver(key) == "sent"
        assert len(smtp.messages) == 1
        assert key not in runner.invoke(main, ["notifications", "failed"]).output
    finally:
        smtp.stop()
