"""Patients turn a channel off; practitioners change the reminder policy per motif."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.aggregates.notification_settings import NotificationPolicy
from consulta.notifications import choose_channels, remove_reminder_policy, set_reminder_policy
from tests.factories import make_patient, make_practitioner
from tests.notifications.helpers import Clock, book_ahead, deliverer, due_rows, set_phone
from tests.notifications.sms_gateway import SmsGateway
from tests.notifications.smtp_server import SmtpServer


def test_a_patient_who_turned_sms_off_gets_e_mail_only(services, settings, now) -> None:
    patient = make_patient(services.app, now)
    actor, profile_id, _ = patient
    assert choose_channels(services.app, actor, email=True, sms=False) > 0
    assert choose_channels(services.app, actor, email=True, sms=False) == 0  # no change, nothing recorded
    position = set_phone(services, profile_id, actor.account_id, "+33612345678", "", now)
    assert services.wait_for(position, ("notifications",))
    booked = book_ahead(services, now, 10, patient=patient)
    smtp = SmtpServer().start()
    try:
        with SmsGateway() as gateway:
            d = deliverer(settings.database_url, smtp.port, Clock(now.replace(hour=12)), sms_url=gateway.url)
            assert d.deliver(f"confirmation:sms:{booked.id}") == "skipped: sms turned off by the patient"
            assert d.deliver(f"confirmation:email:{booked.id}") == "sent"
            assert gateway.received == []
    finally:
        smtp.stop()


def test_a_practitioner_policy_per_motif_changes_the_reminders_written(services, settings, now) -> None:
    practitioner = make_practitioner(services.app, now)
    practitioner_id, staff, _ = practitioner
    policy = {"sms": False, "reminders": [{"channel": "email", "days_before": 3}]}
    position = set_reminder_policy(services.app, staff, practitioner_id, "consult", policy)
    assert services.wait_for(position, ("notifications",))
    booked = book_ahead(services, now, 10, practitioner=practitioner)
    rows = due_rows(settings.database_url, appointment_id=booked.id)
    assert sorted((r["kind"], r["channel"]) for r in rows) == [
        ("alert_confirmation", "email"),
        ("confirmation", "email"),
        ("reminder", "email"),
    ]
    [reminder] = [r for r in rows if r["kind"] == "reminder"]
    assert booked.starts_at - reminder["due_at"] == timedelta(days=3)


def test_policies_are_checked_and_only_staff_of_the_practice_may_set_them(services, now) -> None:
    practitioner_id, staff, _ = make_practitioner(services.app, now)
    with pytest.raises(InvalidInputError):
        set_reminder_policy(
            services.app,
            staff,
            practitioner_id,
            "consult",
            {"reminders": [{"channel": "fax", "days_before": 1}]},
        )
    with pytest.raises(InvalidInputError):
        set_reminder_policy(
            services.app,
            staff,
            practitioner_id,
            "consult",
            {"reminders": [{"channel": "sms", "days_before": 90}]},
        )
    patient, _, _ = make_patient(services.app, now)
    with pytest.raises(ForbiddenError):
        set_reminder_policy(services.app, patient, practitioner_id, "*", {"sms": False})


def test_two_rules_for_the_same_reminder_write_one_row_at_the_earlier_time(services, settings, now) -> None:
    """An event's rows go in one statement: a key met twice must not make it fail (the projection would stop)."""
    practitioner = make_practitioner(services.app, now)
    practitioner_id, staff, _ = practitioner
    policy = {
        "sms": False,
        "reminders": [
            {"channel": "email", "days_before": 2, "booked_more_than_days": 7},
            {"channel": "email", "days_before": 2},
        ],
    }
    position = set_reminder_policy(services.app, staff, practitioner_id, "consult", policy)
    assert services.wait_for(position, ("notifications",))
    booked = book_ahead(services, now, 10, practitioner=practitioner)
    reminders = [
        r for r in due_rows(settings.database_url, profile_id=booked.profile_id) if r["kind"] == "reminder"
    ]
    assert len(reminders) == 1 and booked.starts_at - reminders[0]["due_at"] == timedelta(days=2)


def test_a_motif_whose_own_policy_is_removed_follows_the_one_for_every_motif(services, settings, now) -> None:
    practitioner = make_practitioner(services.app, now)
    practitioner_id, staff, _ = practitioner
    every = {"sms": False, "reminders": [{"channel": "email", "days_before": 4}]}
    own = {"sms": False, "reminders": [{"channel": "email", "days_before": 2}]}
    set_reminder_policy(services.app, staff, practitioner_id, "*", every)
    set_reminder_policy(services.app, staff, practitioner_id, "consult", own)
    position = remove_reminder_policy(services.app, staff, practitioner_id, "consult")
    assert position > 0 and services.wait_for(position, ("notifications",))
    assert remove_reminder_policy(services.app, staff, practitioner_id, "consult") == 0  # already gone
    assert remove_reminder_policy(services.app, staff, practitioner_id, "long") == 0  # never had one
    booked = book_ahead(services, now, 10, practitioner=practitioner)
    reminders = [
        r for r in due_rows(settings.database_url, appointment_id=booked.id) if r["kind"] == "reminder"
    ]
    assert [booked.starts_at - r["due_at"] for r in reminders] == [timedelta(days=4)]

    position = remove_reminder_policy(services.app, staff, practitioner_id, "*")  # back to the default
    assert position > 0 and services.wait_for(position, ("notifications",))
    again = book_ahead(services, now, 12, practitioner=practitioner)
    reminders = [
        r for r in due_rows(settings.database_url, appointment_id=again.id) if r["kind"] == "reminder"
    ]
    assert sorted((r["channel"], (again.starts_at - r["due_at"]).days) for r in reminders) == [
        ("email", 1),
        ("email", 7),
        ("sms", 2),
    ]


def test_only_the_practices_staff_may_remove_a_policy_and_a_new_practice_records_nothing(
    services, now
) -> None:
    practitioner_id, staff, _ = make_practitioner(services.app, now)
    patient, _, _ = make_patient(services.app, now)
    set_reminder_policy(services.app, staff, practitioner_id, "consult", {"sms": False})
    with pytest.raises(ForbiddenError):
        remove_reminder_policy(services.app, patient, practitioner_id, "consult")
    policy = services.app.repository.get(NotificationPolicy.id_for(practitioner_id))
    assert "consult" in policy.policies

    other_id, other_staff, _ = make_practitioner(services.app, now, name="Dr Nothing Set")
    before = services.app.recorder.max_notification_id()
    assert remove_reminder_policy(services.app, other_staff, other_id, "*") == 0
    assert services.app.recorder.max_notification_id() == before
