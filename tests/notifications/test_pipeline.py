"""Events to due rows to messages: confirmation, reminders per the default policy, moves, cancellations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import make_practitioner
from tests.notifications.helpers import Clock, book_ahead, deliverer, due_rows, run_due
from tests.notifications.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def mine(rows, booked):
    return sorted((r["kind"], r["channel"]) for r in rows if r["profile_id"] == booked.profile_id)


def test_a_booking_ten_days_ahead_gets_a_confirmation_and_four_reminders(services, settings, now):
    booked = book_ahead(services, now, 10)
    rows = due_rows(settings.database_url, profile_id=booked.profile_id)
    assert mine(rows, booked) == [
        ("alert_confirmation", "email"),
        ("confirmation", "email"),
        ("confirmation", "sms"),
        ("reminder", "email"),
        ("reminder", "email"),
        ("reminder", "sms"),
    ]
    reminders = {(r["channel"], booked.starts_at - r["due_at"]) for r in rows if r["kind"] == "reminder"}
    assert reminders == {
        ("email", timedelta(days=7)),
        ("email", timedelta(days=1)),
        ("sms", timedelta(days=2)),
    }


def test_a_booking_three_days_ahead_gets_the_day_before_reminders_only(services, settings, now):
    booked = book_ahead(services, now, 3)
    reminders = {
        (r["channel"], booked.starts_at - r["due_at"])
        for r in due_rows(settings.database_url, profile_id=booked.profile_id, kind="reminder")
    }
    assert reminders == {("email", timedelta(days=1)), ("sms", timedelta(days=1))}


def test_a_booking_for_tomorrow_morning_gets_no_reminder(services, settings, now):
    # Open every day around the clock: with weekday hours there is no slot within a day and a half
    # from Friday evening to Sunday, and the test would have nothing to check then.
    hours = [{"weekday": d, "start": "00:00", "end": "23:40", "place": "practice"} for d in range(7)]
    booked = book_ahead(services, now, 0.5, practitioner=make_practitioner(services.app, now, hours=hours))
    assert booked.starts_at - now < timedelta(days=1, hours=12)
    assert due_rows(settings.database_url, profile_id=booked.profile_id, kind="reminder") == []


def test_confirmation_is_sent_once_with_the_practice_and_a_link(services, settings, now, smtp):
    booked = book_ahead(services, now, 10)
    clock = Clock(now + timedelta(seconds=5))
    d = deliverer(settings.database_url, smtp.port, clock)
    key = f"confirmation:email:{booked.id}"
    assert d.deliver(key) == "sent"
    assert d.deliver(key) == "already done"
    [message] = [m for m in smtp.messages if m.recipients == [booked.email]]
    body = message.message.get_body(("plain",)).get_content()
    assert (
        "Dr Claire Martin" in body and f"https://consulta.example/my/appointments/{booked.id}/booked" in body
    )
    assert message.message["Subject"].startswith("Rendez-vous confirmé")
    sent = due_rows(settings.database_url, key=key)[0]
    assert sent["outcome"] == "sent" and sent["done_at"] is not None


def test_two_appointments_on_one_day_make_one_reminder(services, settings, now, smtp):
    # From the start of a weekday ten days ahead or more: counted from "now + 10 days", a late afternoon
    # or a Saturday leaves fewer than five practice slots that day and the second booking lands the next.
    paris = ZoneInfo("Europe/Paris")
    day = (now + timedelta(days=10)).astimezone(paris).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    ahead = (datetime.combine(day, time(0), paris) - now) / timedelta(days=1)
    first = book_ahead(services, now, ahead)
    second = book_ahead(
        services,
        now,
        ahead,
        practitioner=(first.practitioner_id, first.practitioner, 0),
        patient=(first.patient, first.profile_id, first.email),
        index=3,
    )
    assert first.starts_at.date() == second.starts_at.date()
    reminders = due_rows(settings.database_url, profile_id=first.profile_id, kind="reminder", channel="email")
    assert len(reminders) == 2  # 7 days and 1 day before, each for the whole day
    clock = Clock(min(r["due_at"] for r in reminders) + timedelta(days=6, seconds=1))
    d = deliverer(settings.database_url, smtp.port, clock)
    outcomes = [d.deliver(r["key"]) for r in reminders]
    assert outcomes == ["sent", "sent"]
    for_patient = [m for m in smtp.messages if m.recipients == [first.email]]
    assert len(for_patient) == 2
    body = for_patient[0].message.get_payload(decode=True).decode()
    assert body.count("/my/appointments/") == 2


def test_no_reminder_for_a_cancelled_appointment_and_a_notice_instead(services, settings, now, smtp):
    booked = book_ahead(services, now, 10)
    outcome = services.app.cancel(booked.patient, booked.id, "", now + timedelta(minutes=1))
    assert services.wait_for(outcome.position, ("notifications",))
    clock = Clock(now + timedelta(minutes=2))
    d = deliverer(settings.database_url, smtp.port, clock)
    assert d.deliver(f"confirmation:email:{booked.id}") == "skipped: appointment closed"
    assert d.deliver(f"cancelled:email:{booked.id}") == "sent"
    clock.now = booked.starts_at - timedelta(hours=23)
    for r in due_rows(settings.database_url, profile_id=booked.profile_id, kind="reminder", channel="email"):
        assert d.deliver(r["key"]) == "skipped: no appointment still to come"
    subjects = [m.message["Subject"] for m in smtp.messages if m.recipients == [booked.email]]
    assert [s.split(":")[0] for s in subjects] == ["Rendez-vous annulé "]


def test_a_moved_appointment_is_reminded_on_its_new_day_only(services, settings, now, smtp):
    booked = book_ahead(services, now, 10)
    card = services.reads.practitioner(booked.practitioner_id)
    later = services.reads.free_slots(
        card, "consult", booked.starts_at + timedelta(days=2), booked.starts_at + timedelta(days=6), now
    )[0]
    outcome = services.app.reschedule(booked.patient, booked.id, later.starts_at, now + timedelta(minutes=1))
    assert services.wait_for(outcome.position, ("notifications",))
    clock = Clock(now + timedelta(minutes=2))
    d = deliverer(settings.database_url, smtp.port, clock)
    moved = [
        r
        for r in due_rows(settings.database_url, profile_id=booked.profile_id, kind="moved", channel="email")
    ]
    assert [d.deliver(r["key"]) for r in moved] == ["sent"]
    clock.now = later.starts_at - timedelta(hours=23)
    keys = {
        r["key"]
        for r in due_rows(
            settings.database_url, profile_id=booked.profile_id, kind="reminder", channel="email"
        )
    }
    outcomes = dict(run_due(settings.database_url, d, clock, keys))
    new_day = later.starts_at.astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    assert {k: v for k, v in outcomes.items() if k.endswith(new_day)} and all(
        v == ("sent" if k.endswith(new_day) else "skipped: no appointment still to come")
        for k, v in outcomes.items()
    )
    assert len([k for k in outcomes if not k.endswith(new_day)]) == 2


def test_the_confirmation_carries_the_appointment_as_an_ics_file(services, settings, now, smtp):
    booked = book_ahead(services, now, 10)
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    assert d.deliver(f"confirmation:email:{booked.id}") == "sent"
    assert d.deliver(f"alert_confirmation:email:{booked.id}") == "sent"
    by_kind = {m.message["Subject"].split(" ")[0]: m.message for m in smtp.messages}
    [calendar] = [p for p in by_kind["Rendez-vous"].walk() if p.get_content_type() == "text/calendar"]
    assert calendar.get_filename() == "rendez-vous.ics"
    ics = (
        calendar.get_content() if isinstance(calendar.get_content(), str) else calendar.get_content().decode()
    )
    assert f"UID:{booked.id}@consulta" in ics
    assert f"DTSTART:{booked.starts_at.strftime('%Y%m%dT%H%M%SZ')}" in ics
    assert not [p for p in by_kind["Nouveau"].walk() if p.get_content_type() == "text/calendar"]
