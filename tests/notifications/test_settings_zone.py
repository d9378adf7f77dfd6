"""A patient's own time zone sets their SMS quiet hours, through the real Deliverer on PostgreSQL.

The practice is in Paris and opens at 13:00 and 22:00 every day; bookings two
to six days ahead get an SMS reminder 24 hours before (the default policy).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql

from consulta.aggregates.errors import InvalidInputError
from consulta.aggregates.notification_settings import NotificationPreferences
from consulta.notifications import choose_channels
from consulta.projections.base import ProjectionRunner, create_positions_table, install
from consulta.projections.notification_policy import quiet_until
from consulta.projections.notifications import Notifications
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner
from tests.notifications.helpers import Clock, deliverer, due_rows, set_phone
from tests.notifications.sms_gateway import SmsGateway
from tests.notifications.smtp_server import SmtpServer

PARIS, NOUMEA = ZoneInfo("Europe/Paris"), ZoneInfo("Pacific/Noumea")
HOURS = [
    {"weekday": d, "start": start, "end": end, "place": "practice"}
    for d in range(7)
    for start, end in (("13:00", "14:00"), ("22:00", "23:00"))
]


@pytest.fixture(scope="module")
def practice(services: Services) -> tuple[UUID, Any, int]:
    return make_practitioner(services.app, services.clock.now(), hours=HOURS)


@pytest.fixture
def sms(settings: Settings) -> Iterator[tuple[SmsGateway, Any]]:
    smtp = SmtpServer().start()
    try:
        with SmsGateway() as gateway:
            yield gateway, smtp
    finally:
        smtp.stop()


def patient_in(services: Services, now: datetime, zone: str | None) -> tuple[Any, UUID, str]:
    actor, profile_id, _ = make_patient(services.app, now)
    if zone is not None:
        assert choose_channels(services.app, actor, True, True, zone) > 0
    phone = "+5969" + "".join(secrets.choice("0123456789") for _ in range(8))
    assert services.wait_for(
        set_phone(services, profile_id, actor.account_id, phone, "", now), ("notifications",)
    )
    return actor, profile_id, phone


def sms_reminder_at(
    services: Services, settings: Settings, practice: tuple, patient: tuple, hour: int, now: datetime
) -> dict[str, Any]:
    """Book the patient at `hour` Paris time two to six days ahead; the SMS reminder's due row."""
    practitioner_id, _, position = practice
    actor, profile_id, _ = patient
    assert services.wait_for(position)
    card = services.reads.practitioner(practitioner_id)
    slots = services.reads.free_slots(card, "consult", now + timedelta(days=2), now + timedelta(days=6), now)
    chosen = next(s for s in slots if s.starts_at.astimezone(PARIS).time() == time(hour))
    outcome = services.app.book(
        actor, practitioner_id, "consult", "practice", chosen.starts_at, profile_id, now
    )
    assert services.wait_for(outcome.position, ("notifications",))
    [row] = due_rows(settings.database_url, profile_id=profile_id, kind="reminder", channel="sms")
    assert row["due_at"] == chosen.starts_at - timedelta(days=1)
    return row


def test_an_sms_due_at_night_in_paris_goes_to_a_patient_in_martinique(
    services: Services, settings: Settings, practice: tuple, sms: tuple, now: datetime
) -> None:
    gateway, smtp = sms
    martinique = patient_in(services, now, "America/Martinique")
    row = sms_reminder_at(services, settings, practice, martinique, 22, now)
    due = row["due_at"]
    assert due.astimezone(PARIS).time() >= time(21)  # night in Paris (22:00, 21:00 or 23:00 across a change)
    assert 8 <= due.astimezone(ZoneInfo("America/Martinique")).hour < 21  # afternoon there
    clock = Clock(due)
    d = deliverer(settings.database_url, smtp.port, clock, sms_url=gateway.url)
    assert d.deliver(row["key"]) == "sent"
    assert [m["to"] for m in gateway.received] == [martinique[2]]
    # The time is given in the patient's zone too, in the SMS and in the confirmation e-mail.
    there = (due + timedelta(days=1)).astimezone(ZoneInfo("America/Martinique"))
    yours = f"(chez vous : {there:%H:%M}, America/Martinique)"
    assert yours in gateway.received[0]["text"]
    assert d.deliver(f"confirmation:email:{row['appointment_id']}") == "sent"
    assert yours in smtp.messages[-1].message.get_body(("plain",)).get_content()
    # the control: a patient without a zone of their own, same time, waits for 08:00 in Paris
    parisian = patient_in(services, now, None)
    other = sms_reminder_at(services, settings, practice, parisian, 22, now)  # the next free 22:00
    clock.now = other["due_at"]
    assert d.deliver(other["key"]) == "postponed: quiet hours"
    assert len(gateway.received) == 1
    assert d.deliver(f"confirmation:email:{other['appointment_id']}") == "sent"
    assert "chez vous" not in smtp.messages[-1].message.get_body(("plain",)).get_content()


def test_an_sms_due_at_lunchtime_in_paris_waits_for_the_morning_in_noumea(
    services: Services, settings: Settings, practice: tuple, sms: tuple, now: datetime
) -> None:
    gateway, smtp = sms
    noumea = patient_in(services, now, "Pacific/Noumea")
    row = sms_reminder_at(services, settings, practice, noumea, 13, now)
    due = row["due_at"]
    assert quiet_until(due, "Europe/Paris") is None  # a Paris patient would get it at once
    there = due.astimezone(NOUMEA)
    assert there.hour in (22, 23)  # 13:00 Paris is 22:00 or 23:00 in Noumea
    clock = Clock(due)
    d = deliverer(settings.database_url, smtp.port, clock, sms_url=gateway.url)
    assert d.deliver(row["key"]) == "postponed: quiet hours"
    [moved] = due_rows(settings.database_url, key=row["key"])
    assert moved["due_at"] == datetime.combine(there.date() + timedelta(days=1), time(8), tzinfo=NOUMEA)
    assert moved["claimed_at"] is None and moved["done_at"] is None and gateway.received == []
    clock.now = moved["due_at"]
    assert d.deliver(row["key"]) == "sent"
    assert [m["to"] for m in gateway.received] == [noumea[2]]


def test_a_bad_zone_records_nothing_and_old_histories_load_without_a_zone(
    services: Services, now: datetime
) -> None:
    actor, _, _ = make_patient(services.app, now)
    head = services.app.recorder.max_notification_id()
    with pytest.raises(InvalidInputError):
        choose_channels(services.app, actor, True, False, "Europe/Atlantis")
    assert services.app.recorder.max_notification_id() == head
    assert choose_channels(services.app, actor, True, False) > 0  # as callers did before zones existed
    stored = services.app.repository.get(NotificationPreferences.id_for(actor.account_id))
    assert (stored.email, stored.sms, stored.zone) == (True, False, "")
    assert [type(e).__name__ for e in services.app.repository.event_store.get(stored.id)] == [
        "Opened",
        "ChannelsChosen",
    ]


def test_the_zone_column_is_added_to_an_old_table_and_a_rebuild_gives_the_same_rows(
    services: Services, settings: Settings, now: datetime
) -> None:
    actor, _, _ = make_patient(services.app, now)
    choose_channels(services.app, actor, False, True, "Indian/Reunion")
    position = choose_channels(services.app, actor, False, True, "Pacific/Tahiti")
    assert services.wait_for(position, ("notifications",))
    schema = f"rebuild_{secrets.token_hex(4)}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            old = "account_id uuid PRIMARY KEY, email boolean NOT NULL, sms boolean NOT NULL, language text"
            conn.execute(
                sql.SQL("CREATE TABLE {}.notify_preferences (" + old + ")").format(sql.Identifier(schema))
            )
            create_positions_table(conn, schema)
            projection = Notifications(schema)
            install(conn, projection)  # what `consulta migrate` does on a database from before zones
            runner = ProjectionRunner(services.app, projection, settings.database_url)
            with conn.transaction(), conn.cursor() as cur:
                start = 0
                while batch := services.app.recorder.select_notifications(
                    start=start, limit=1000, inclusive_of_start=False
                ):
                    runner.apply(cur, batch)
                    start = batch[-1].id
            query = "SELECT account_id, email, sms, language, timezone FROM {}.notify_preferences ORDER BY 1"
            rebuilt = conn.execute(sql.SQL(query).format(sql.Identifier(schema))).fetchall()
            live = conn.execute(sql.SQL(query).format(sql.Identifier("read"))).fetchall()
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    assert rebuilt == live
    assert (actor.account_id, False, True, None, "Pacific/Tahiti") in live
