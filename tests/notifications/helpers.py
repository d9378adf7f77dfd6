"""Booking helpers and a deliverer wired to a test SMTP server and fake clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg_pool import ConnectionPool

from consulta.services import Services
from consulta.workers.email import SmtpSender
from consulta.workers.outbox import Deliverer
from consulta.workers.scheduler import Scheduler
from consulta.workers.sms import HttpSmsGateway
from tests.factories import make_patient, make_practitioner


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Booked:
    id: UUID
    practitioner_id: UUID
    profile_id: UUID
    starts_at: datetime
    email: str
    patient: Any
    practitioner: Any


def set_phone(
    services: Services, profile_id: UUID, account_id: UUID, phone: str, email: str, now: datetime
) -> int:
    app = services.app
    profile = app.repository.get(profile_id)
    profile.set_contact(phone, email, account_id)
    recordings = app.save(profile)
    return recordings[-1].notification.id


def book_ahead(
    services: Services,
    now: datetime,
    days: float,
    practitioner: tuple | None = None,
    patient: tuple | None = None,
    index: int = 0,
) -> Booked:
    app, reads = services.app, services.reads
    practitioner_id, staff, position = practitioner or make_practitioner(app, now)
    actor, profile_id, email = patient or make_patient(app, now)
    assert services.wait_for(position)
    card = reads.practitioner(practitioner_id)
    start = now + timedelta(days=days)
    # Practice slots only, as it books one: after 16:40 in Paris the next slots are video ones (17:00-18:00).
    slots = reads.free_slots(card, "consult", start, start + timedelta(days=4), now, mode="practice")
    chosen = slots[index]
    outcome = app.book(actor, practitioner_id, "consult", "practice", chosen.starts_at, profile_id, now)
    assert services.wait_for(outcome.position, ("notifications",))
    return Booked(outcome.id, practitioner_id, profile_id, chosen.starts_at, email, actor, staff)


def due_rows(database_url: str, **where: Any) -> list[dict[str, Any]]:
    clause = " AND ".join(f"{k} = %({k})s" for k in where) or "true"
    with psycopg.connect(database_url) as conn:
        cur = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cur.execute(
            f"SELECT * FROM read.notification_due WHERE {clause} ORDER BY due_at, key", where
        ).fetchall()


def deliverer(
    database_url: str, smtp_port: int, clock: Clock, sms_url: str | None = None, **options: Any
) -> Deliverer:
    pool = ConnectionPool(database_url, min_size=1, max_size=4, open=True)
    email = SmtpSender(
        "127.0.0.1", smtp_port, sender="Cabinet <rdv@cabinet.example>", starttls=False, timeout=5
    )
    sms = HttpSmsGateway(sms_url) if sms_url else None
    return Deliverer(pool, "read", email, sms, "https://consulta.example", clock, **options)


def run_due(
    database_url: str, d: Deliverer, clock: Clock, keys: set[str] | None = None
) -> list[tuple[str, str]]:
    """Claim what is due at the clock's time and deliver it in this thread; (key, outcome) pairs."""
    claimed: list[str] = []
    Scheduler(database_url, "read", claimed.append, clock, reclaim_after=timedelta(0)).claim_once()
    return [(k, d.deliver(k)) for k in claimed if keys is None or k in keys]
