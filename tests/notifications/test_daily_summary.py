"""The practitioner's daily agenda summary: the opt-in command, and the e-mail over a real SMTP exchange."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.aggregates.notification_settings import NotificationPolicy
from consulta.database import rebuild
from consulta.notifications import choose_daily_summary, set_reminder_policy
from tests.factories import make_patient, make_practitioner
from tests.notifications.helpers import Clock, deliverer, due_rows
from tests.notifications.smtp_server import SmtpServer

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@dataclass
class Day:
    practitioner_id: UUID
    staff: Any
    email: str
    day: date
    booked: dict[str, UUID]  # patient's first name -> appointment id

    @property
    def key(self) -> str:
        return f"daily_summary:email:{self.practitioner_id}:{self.day.isoformat()}"


def a_day_with_practice_and_video(rules: Any, now: datetime) -> date:
    day = rules.local_day(now) + timedelta(days=2)
    while not (
        list(rules.slots_on(day, "consult", "practice")) and list(rules.slots_on(day, "consult", "video"))
    ):
        day += timedelta(days=1)
    return day


def book_a_day(services: Any, now: datetime, opt_in_first: bool = True, hour: int = 7) -> Day:
    """Alice and Bruno at the practice, Chloé by video, on one day; Bruno cancels. Opt-in before or after."""
    app = services.app
    practitioner_id, staff, _ = make_practitioner(app, now)
    if opt_in_first:
        choose_daily_summary(app, staff, practitioner_id, True, hour)
    rules = app.get_practitioner(practitioner_id).rules
    day = a_day_with_practice_and_video(rules, now)
    practice, video = (
        list(rules.slots_on(day, "consult", "practice")),
        list(rules.slots_on(day, "consult", "video")),
    )
    booked = {}
    for (first, last), slot, mode in (
        (("Alice", "Durand"), practice[0], "practice"),
        (("Bruno", "Garcia"), practice[1], "practice"),
        (("Chloé", "Petit"), video[0], "video"),
    ):
        actor, profile_id, _ = make_patient(app, now, first, last)
        booked[first] = app.book(actor, practitioner_id, "consult", mode, slot.starts_at, profile_id, now).id
    position = app.cancel(staff, booked["Bruno"], "the patient phoned", now).position
    if not opt_in_first:
        position = choose_daily_summary(app, staff, practitioner_id, True, hour)
    assert services.wait_for(position, ("notifications",))
    return Day(practitioner_id, staff, app.get_account(staff.account_id).email, day, booked)


def mail_to(smtp: SmtpServer, address: str) -> list[Any]:
    return [m for m in smtp.messages if m.recipients == [address]]


# -- the command -------------------------------------------------------------


def test_only_the_practitioners_staff_may_choose_the_summary(services, now) -> None:
    practitioner_id, staff, _ = make_practitioner(services.app, now)
    _, other_staff, _ = make_practitioner(services.app, now)
    patient, _, _ = make_patient(services.app, now)
    for actor in (patient, other_staff):
        with pytest.raises(ForbiddenError):
            choose_daily_summary(services.app, actor, practitioner_id, True, 7)
    assert choose_daily_summary(services.app, staff, practitioner_id, True, 7) > 0
    assert choose_daily_summary(services.app, staff, practitioner_id, True, 7) == 0  # no change
    policy = services.app.repository.get(NotificationPolicy.id_for(practitioner_id))
    assert (policy.daily_summary, policy.daily_summary_hour) == (True, 7)


@pytest.mark.parametrize("hour", [24, -1, "7", 7.0, True, None])
def test_a_bad_hour_is_refused_and_nothing_is_recorded(services, now, hour) -> None:
    practitioner_id, staff, _ = make_practitioner(services.app, now)
    head = services.app.recorder.max_notification_id()
    with pytest.raises(InvalidInputError, match="0 to 23"):
        choose_daily_summary(services.app, staff, practitioner_id, True, hour)
    assert services.app.recorder.max_notification_id() == head
    with pytest.raises(AggregateNotFoundError):
        services.app.repository.get(NotificationPolicy.id_for(practitioner_id))


def test_a_policy_recorded_before_the_summary_existed_still_loads_with_it_off(services, now) -> None:
    practitioner_id, staff, _ = make_practitioner(services.app, now)
    set_reminder_policy(services.app, staff, practitioner_id, "*", {"sms": False})
    policy = services.app.repository.get(NotificationPolicy.id_for(practitioner_id))
    assert (policy.daily_summary, policy.policies["*"]["sms"]) == (False, False)
    choose_daily_summary(services.app, staff, practitioner_id, True, 0)
    assert services.app.repository.get(NotificationPolicy.id_for(practitioner_id)).daily_summary_hour == 0


# -- the e-mail ----------------------------------------------------------------


def test_the_summary_lists_the_day_as_it_stands_when_sent(services, settings, now, smtp) -> None:
    day = book_a_day(services, now)
    [row] = due_rows(settings.database_url, key=day.key)
    assert row["due_at"] == datetime.combine(day.day, time(7), PARIS)
    assert (row["kind"], row["channel"], row["appointment_id"], row["profile_id"]) == (
        "daily_summary",
        "email",
        None,
        None,
    )
    d = deliverer(settings.database_url, smtp.port, Clock(row["due_at"]))
    assert d.deliver(day.key) == "sent"
    [message] = mail_to(smtp, day.email)
    body = message.message.get_body(("plain",)).get_content()
    assert "Alice Durand, Consultation, au cabinet" in body
    assert "Chloé Petit, Consultation, en vidéo" in body  # booked after the row was written
    assert "Bruno" not in body  # cancelled after the row was written
    assert message.message["Subject"].startswith("Votre journée du ") and message.message["Subject"].endswith(
        ": 2 rendez-vous"
    )
    assert "1 rue de la Paix" not in body and "the patient phoned" not in body


def test_the_summary_is_in_the_practitioners_language(services, settings, now, smtp) -> None:
    day = book_a_day(services, now, opt_in_first=False)
    position = services.app.choose_language(day.staff.account_id, "en").position
    assert services.wait_for(position, ("notifications",))
    d = deliverer(settings.database_url, smtp.port, Clock(datetime.combine(day.day, time(7), PARIS)))
    assert d.deliver(day.key) == "sent"  # the opt-in came after the bookings: the row was written then
    [message] = mail_to(smtp, day.email)
    assert message.message["Subject"].endswith(": 2 appointments")
    assert "Chloé Petit, Consultation, by video" in message.message.get_body(("plain",)).get_content()


def test_the_same_message_delivered_twice_sends_one_e_mail_and_a_rebuild_sends_nothing_again(
    services, settings, now, smtp
) -> None:
    day = book_a_day(services, now)
    d = deliverer(settings.database_url, smtp.port, Clock(datetime.combine(day.day, time(7, 0, 5), PARIS)))
    assert d.deliver(day.key) == "sent"
    assert d.deliver(day.key) == "already done"
    assert rebuild(settings, "notifications") > 0
    [row] = due_rows(settings.database_url, key=day.key)
    assert row["done_at"] is None  # the rebuild wrote the row again...
    assert d.deliver(day.key) == "sent before"  # ...and the worker finds it already sent
    assert len(mail_to(smtp, day.email)) == 1


def test_turning_it_off_stops_the_summaries_not_yet_sent(services, settings, now, smtp) -> None:
    day = book_a_day(services, now)
    position = choose_daily_summary(services.app, day.staff, day.practitioner_id, False, 7)
    assert services.wait_for(position, ("notifications",))
    d = deliverer(settings.database_url, smtp.port, Clock(datetime.combine(day.day, time(7), PARIS)))
    assert d.deliver(day.key) == "skipped: daily summary turned off"
    assert mail_to(smtp, day.email) == []


def test_turning_it_back_on_with_another_hour_moves_the_row(services, settings, now, smtp) -> None:
    day = book_a_day(services, now)
    for enabled, hour in ((False, 7), (True, 18)):
        position = choose_daily_summary(services.app, day.staff, day.practitioner_id, enabled, hour)
    assert services.wait_for(position, ("notifications",))
    [row] = due_rows(settings.database_url, key=day.key)
    assert row["due_at"] == datetime.combine(day.day, time(18), PARIS)


def test_nothing_is_sent_for_an_empty_day_nor_once_the_day_is_over(services, settings, now, smtp) -> None:
    day = book_a_day(services, now)
    for first in ("Alice", "Chloé"):
        position = services.app.cancel(day.staff, day.booked[first], "practice closed", now).position
    assert services.wait_for(position, ("notifications",))
    at_seven = datetime.combine(day.day, time(7), PARIS)
    d = deliverer(settings.database_url, smtp.port, Clock(at_seven))
    assert d.deliver(day.key) == "skipped: no appointments that day"
    later = book_a_day(services, now)
    d = deliverer(
        settings.database_url,
        smtp.port,
        Clock(datetime.combine(later.day + timedelta(days=1), time(0), PARIS)),
    )
    assert d.deliver(later.key) == "skipped: day over"
    assert mail_to(smtp, day.email) == mail_to(smtp, later.email) == []


def test_a_new_hour_reaches_a_day_emptied_then_booked_again(services, settings, now) -> None:
    day = book_a_day(services, now)
    for first in ("Alice", "Chloé"):
        services.app.cancel(day.staff, day.booked[first], "practice closed", now)
    choose_daily_summary(services.app, day.staff, day.practitioner_id, True, 18)
    slot = list(
        services.app.get_practitioner(day.practitioner_id).rules.slots_on(day.day, "consult", "practice")
    )[2]
    actor, profile_id, _ = make_patient(services.app, now, "Denis", "Moreau")
    outcome = services.app.book(
        actor, day.practitioner_id, "consult", "practice", slot.starts_at, profile_id, now
    )
    assert services.wait_for(outcome.position, ("notifications",))
    [row] = due_rows(settings.database_url, key=day.key)
    assert row["due_at"] == datetime.combine(day.day, time(18), PARIS)


def test_three_copies_delivered_at_once_send_one_e_mail(services, settings, now, smtp) -> None:
    day = book_a_day(services, now)
    d = deliverer(settings.database_url, smtp.port, Clock(datetime.combine(day.day, time(7), PARIS)))
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(d.deliver, [day.key] * 3))
    assert outcomes.count("sent") == 1, outcomes
    assert len(mail_to(smtp, day.email)) == 1


def test_a_summary_in_the_workers_batch_goes_out_once(services, settings, now, smtp) -> None:
    first, second = book_a_day(services, now), book_a_day(services, now)
    d = deliverer(settings.database_url, smtp.port, Clock(datetime.combine(first.day, time(7), PARIS)))
    assert d.deliver_many([first.key, second.key, first.key]) == ["sent", "sent", "already done"]
    assert len(mail_to(smtp, first.email)) == len(mail_to(smtp, second.email)) == 1
