"""Daily summary rows fire at the practice's local hour, DST change days included (Europe/Paris, 2026).

Event timestamps come from the real clock, so events dated in March and
October 2026 are built here and applied by the real `notifications`
projection to its own tables in a schema of this test, against PostgreSQL;
then the real scheduler claims the rows at their time and the deliverer sends
the summary over SMTP.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from consulta.aggregates.appointment import Appointment
from consulta.aggregates.notification_settings import NotificationPolicy
from consulta.projections.notifications import Notifications
from consulta.workers.email import SmtpSender
from consulta.workers.outbox import Deliverer
from consulta.workers.scheduler import Scheduler
from tests.notifications.helpers import Clock
from tests.notifications.smtp_server import SmtpServer

PARIS = ZoneInfo("Europe/Paris")
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)  # clocks go forward, back
BEFORE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # when the events below happen


class Practice:
    """The projection's tables in a schema of their own, one Paris practitioner and one patient."""

    def __init__(self, database_url: str) -> None:
        self.url, self.schema = database_url, f"dst_{secrets.token_hex(4)}"
        self.projection = Notifications(self.schema)
        self.practitioner, self.account, self.profile = uuid4(), uuid4(), uuid4()
        self.version = 1
        with psycopg.connect(database_url) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            for statement in self.projection.create_statements():
                conn.execute(statement)
            s = sql.Identifier(self.schema)
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.notify_practitioners VALUES (%s, %s, 'Dr Claire Martin', '1 rue', %s)"
                ).format(s),
                (self.practitioner, self.account, "Europe/Paris"),
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.notify_accounts (id, identity_id, email, role) VALUES (%s, %s, %s, 'practitioner')"
                ).format(s),
                (self.account, uuid4(), "dr.martin@example.org"),
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.notify_profiles (id, first_name, last_name) VALUES (%s, 'Alice', 'Durand')"
                ).format(s),
                (self.profile,),
            )

    def apply(self, *events: Any) -> None:
        with psycopg.connect(self.url) as conn, conn.cursor() as cur:
            for e in events:
                self.projection.process(e, cur)

    def chosen(self, enabled: bool, hour: int, at: datetime = BEFORE) -> Any:
        self.version += 1
        return NotificationPolicy.DailySummaryChosen(
            originator_id=NotificationPolicy.id_for(self.practitioner),
            originator_version=self.version,
            timestamp=at,
            practitioner_id=self.practitioner,
            enabled=enabled,
            hour=hour,
        )

    def booked(self, day: date, local_hour: int = 10, at: datetime = BEFORE) -> Any:
        starts_at = datetime(day.year, day.month, day.day, local_hour, tzinfo=PARIS).astimezone(UTC)
        return Appointment.Booked(
            originator_id=uuid4(),
            originator_version=1,
            timestamp=at,
            originator_topic="consulta.Appointment",
            practitioner_id=self.practitioner,
            profile_id=self.profile,
            motif_id="consult",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=20),
            mode="practice",
            by=uuid4(),
            by_role="practitioner",
        )

    def due(self) -> dict[date, datetime]:
        with psycopg.connect(self.url) as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT day, due_at, key FROM {}.notification_due WHERE kind = 'daily_summary'"
                ).format(sql.Identifier(self.schema))
            ).fetchall()
        assert all(
            key == f"daily_summary:email:{self.practitioner}:{day.isoformat()}" for day, _, key in rows
        )
        return {day: due_at for day, due_at, _ in rows}

    def key(self, day: date) -> str:
        return f"daily_summary:email:{self.practitioner}:{day.isoformat()}"

    def drop(self) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))


@pytest.fixture
def practice(database_url: str) -> Iterator[Practice]:
    p = Practice(database_url)
    yield p
    p.drop()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


DAYS = [SPRING - timedelta(days=1), SPRING, SPRING + timedelta(days=1), AUTUMN - timedelta(days=1), AUTUMN]


def test_rows_fall_at_seven_local_on_both_change_days(practice: Practice) -> None:
    practice.apply(*(practice.booked(day) for day in DAYS[:3]))  # booked before the opt-in
    practice.apply(practice.chosen(True, 7))
    practice.apply(*(practice.booked(day) for day in DAYS[3:]))  # booked after it
    assert practice.due() == {
        date(2026, 3, 28): utc(2026, 3, 28, 6),  # 07:00 CET (UTC+1)
        SPRING: utc(2026, 3, 29, 5),  # 07:00 CEST (UTC+2): not 24 hours after the day before
        date(2026, 3, 30): utc(2026, 3, 30, 5),
        date(2026, 10, 24): utc(2026, 10, 24, 5),  # 07:00 CEST
        AUTUMN: utc(2026, 10, 25, 6),  # 07:00 CET: 25 hours after the day before
    }
    assert all(at.astimezone(PARIS).hour == 7 for at in practice.due().values())


def test_the_hour_the_clocks_skip_or_repeat(practice: Practice) -> None:
    practice.apply(practice.booked(SPRING), practice.booked(AUTUMN), practice.chosen(True, 2))
    due = practice.due()
    assert due[SPRING] == utc(2026, 3, 29, 1)  # 02:00 does not exist: 03:00 CEST
    assert due[AUTUMN] == utc(2026, 10, 25, 1)  # 02:00 comes twice: the second one, CET


def test_a_booking_made_after_that_days_hour_writes_no_row_for_it(practice: Practice) -> None:
    practice.apply(practice.chosen(True, 7))
    practice.apply(practice.booked(SPRING, 15, at=utc(2026, 3, 29, 9)))  # 11:00 local, for 17:00
    practice.apply(practice.booked(AUTUMN, 15, at=utc(2026, 10, 25, 5, 59)))  # 06:59 local
    assert set(practice.due()) == {AUTUMN}


def test_turned_off_the_projection_writes_nothing_more(practice: Practice) -> None:
    practice.apply(practice.chosen(True, 7), practice.chosen(False, 7), practice.booked(SPRING))
    assert practice.due() == {}


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_the_scheduler_claims_it_at_the_local_hour_and_the_summary_goes_out(
    practice: Practice, database_url: str, day: date
) -> None:
    practice.apply(practice.chosen(True, 7), practice.booked(day, 9), practice.booked(day, 11))
    seven = datetime(day.year, day.month, day.day, 7, tzinfo=PARIS)
    claimed: list[str] = []
    clock = Clock(seven - timedelta(seconds=1))
    scheduler = Scheduler(database_url, practice.schema, claimed.append, clock)
    scheduler.claim_once()  # the patients' confirmations and reminders, due earlier
    assert practice.key(day) not in claimed
    clock.now = seven
    claimed.clear()
    assert scheduler.claim_once() == 1 and claimed == [practice.key(day)]
    scheduler.close()
    smtp = SmtpServer().start()
    pool = ConnectionPool(database_url, min_size=1, max_size=2, open=True)
    try:
        sender = SmtpSender(
            "127.0.0.1", smtp.port, sender="Consulta <rdv@consulta.example>", starttls=False, timeout=5
        )
        d = Deliverer(pool, practice.schema, sender, None, "https://consulta.example", clock)
        assert d.deliver(practice.key(day)) == "sent"
        [message] = smtp.messages
        body = message.message.get_body(("plain",)).get_content()
        assert message.recipients == ["dr.martin@example.org"]
        assert "- 09:00 Alice Durand, consult, au cabinet" in body and "- 11:00 Alice Durand" in body
    finally:
        pool.close()
        smtp.stop()
