"""SMS through a generic HTTP gateway (a real local server): no health information, no night sending."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from consulta.projections.notification_policy import quiet_until
from consulta.workers.sms import HttpSmsGateway, PermanentSmsError, TemporarySmsError
from tests.notifications.helpers import Clock, book_ahead, deliverer, due_rows, set_phone
from tests.notifications.sms_gateway import SmsGateway
from tests.notifications.smtp_server import SmtpServer

PARIS = ZoneInfo("Europe/Paris")


def test_the_gateway_adapter_posts_json_with_the_token_and_returns_the_provider_id() -> None:
    with SmsGateway() as gateway:
        provider_id = HttpSmsGateway(gateway.url, token="t0ken", sender="Cabinet").send(
            "+33612345678", "Bonjour", "k1"
        )
        [sent] = gateway.received
        assert provider_id == sent["id"]
        assert (sent["to"], sent["from"], sent["text"], sent["reference"]) == (
            "+33612345678",
            "Cabinet",
            "Bonjour",
            "k1",
        )
        assert sent["authorization"] == "Bearer t0ken"
        gateway.status = 503
        with pytest.raises(TemporarySmsError, match="503"):
            HttpSmsGateway(gateway.url).send("+33612345678", "x", "k2")
        gateway.status = 400
        with pytest.raises(PermanentSmsError, match="400"):
            HttpSmsGateway(gateway.url).send("+33612345678", "x", "k3")


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 28, 20, 59), None),
        (datetime(2026, 3, 28, 21, 0), datetime(2026, 3, 29, 8, 0)),  # the night the clocks go forward
        (datetime(2026, 3, 29, 7, 59), datetime(2026, 3, 29, 8, 0)),
        (datetime(2026, 3, 29, 8, 0), None),
    ],
)
def test_quiet_hours_run_from_nine_in_the_evening_to_eight_in_the_morning(local, expected) -> None:
    found = quiet_until(local.replace(tzinfo=PARIS), "Europe/Paris")
    assert found == (expected.replace(tzinfo=PARIS) if expected else None)


def test_an_sms_names_neither_motif_nor_specialty_and_waits_for_the_morning(services, settings, now) -> None:
    booked = book_ahead(services, now, 10)
    position = set_phone(services, booked.profile_id, booked.patient.account_id, "+33 6 12 34 56 78", "", now)
    assert services.wait_for(position, ("notifications",))
    key = f"confirmation:sms:{booked.id}"
    evening = datetime.combine(now.astimezone(PARIS).date(), time(22, 30), tzinfo=PARIS)
    smtp = SmtpServer().start()
    try:
        with SmsGateway() as gateway:
            clock = Clock(evening)
            d = deliverer(settings.database_url, smtp.port, clock, sms_url=gateway.url)
            assert d.deliver(key) == "postponed: quiet hours"
            row = due_rows(settings.database_url, key=key)[0]
            assert row["due_at"] == evening.replace(hour=8, minute=0) + timedelta(days=1)
            assert row["claimed_at"] is None and gateway.received == []
            clock.now = row["due_at"]
            assert d.deliver(key) == "sent"
            [sms] = gateway.received
            assert sms["to"] == "+33612345678"
            assert "Dr Claire Martin" in sms["text"] and f"/my/appointments/{booked.id}/" in sms["text"]
            for health in ("Consultation", "General practitioner"):
                assert health not in sms["text"]
            email_key = f"confirmation:email:{booked.id}"
            assert d.deliver(email_key) == "sent"
            assert (
                "Consultation" in smtp.messages[0].message.get_body(("plain",)).get_content()
            )  # the e-mail may say why
    finally:
        smtp.stop()
