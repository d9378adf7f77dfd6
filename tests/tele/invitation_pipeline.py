"""A teleconsultation opened with a sealed invitation, and the real pipeline that sends it.

The pipeline is the scheduler (claims due rows in PostgreSQL), a dramatiq
worker on a StubBroker running the real `deliver` actor, and a Deliverer
wired to an aiosmtpd server and a local SMS gateway, all on a fixed clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import dramatiq
import psycopg
from psycopg.rows import dict_row

from consulta.aggregates.appointment import KnownPatient
from consulta.services import Services
from consulta.settings import Settings
from consulta.tele_invitation import invitation_sealer
from consulta.teleconsultation import Invitation
from consulta.workers import runtime
from consulta.workers.broker import QUEUE, configure, make_broker
from consulta.workers.outbox import Deliverer
from consulta.workers.scheduler import Scheduler
from tests.factories import make_patient, make_practitioner
from tests.notifications.helpers import Clock, set_phone

PARIS = ZoneInfo("Europe/Paris")
SPECIALTY, MOTIF = "Addictologie", "Suivi du sevrage"  # health information an SMS must not carry
MOTIFS = [{"id": "consult", "name": MOTIF, "duration_minutes": 20, "modes": ["practice", "video"]}]


@dataclass
class Opened:
    invitation: Invitation
    email: str
    phone: str
    staff: Any
    starts_at: datetime
    ends_at: datetime

    @property
    def id(self) -> UUID:
        return self.invitation.consultation_id

    def key(self, channel: str) -> str:
        return f"tele_invitation:{channel}:{self.id}:2"  # Invited is the consultation's second event


def next_local(now: datetime, hour: int, minute: int = 0) -> datetime:
    """The next instant after `now` at hour:minute in Paris."""
    local = now.astimezone(PARIS)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (at if at > local else at + timedelta(days=1)).astimezone(now.tzinfo)


def open_invited(
    services: Services, now: datetime, *, at: datetime | None = None, adhoc: bool = False
) -> Opened:
    """A video appointment two days or more ahead (or, `adhoc`, a consultation starting `at`), invited with a seal."""
    app = services.app
    practitioner_id, staff, _ = make_practitioner(app, now, specialty=SPECIALTY, motifs=MOTIFS)
    patient, profile_id, email = make_patient(app, now)
    phone = "+336" + str(int(now.timestamp() * 1000))[-8:]
    set_phone(services, profile_id, patient.account_id, phone, "", now)
    seal = invitation_sealer(services.settings)
    if adhoc:
        app.save(KnownPatient(practitioner_id, profile_id, None, staff.account_id))
        invitation = app.open_consultation(staff, at or now, profile_id=profile_id, minutes=30, seal=seal)
    else:
        rules = app.get_practitioner(practitioner_id).rules
        day: date = rules.local_day(now) + timedelta(days=2)
        while not (slots := list(rules.slots_on(day, "consult", "video"))):
            day += timedelta(days=1)
        booked = app.book(patient, practitioner_id, "consult", "video", slots[0].starts_at, profile_id, now)
        invitation = app.open_consultation(staff, now, appointment_id=booked.id, seal=seal)
    assert services.wait_for(invitation.position, ("notifications", "waiting_room"))
    consultation = app.get_consultation(invitation.consultation_id)
    return Opened(invitation, email, phone, staff, consultation.starts_at, consultation.ends_at)


def rows(settings: Settings, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def due(settings: Settings, opened: Opened) -> dict[str, dict[str, Any]]:
    found = rows(
        settings, "SELECT * FROM read.notification_due WHERE key LIKE %s", f"tele_invitation:%:{opened.id}:%"
    )
    return {r["channel"]: r for r in found}


def sealed(settings: Settings, opened: Opened) -> str | None:
    (row,) = rows(settings, "SELECT sealed FROM read.notify_consultations WHERE id = %s", opened.id)
    return row["sealed"]


@dataclass
class Pipeline:
    scheduler: Scheduler
    broker: Any
    only: str  # enqueue only keys containing this (the session's database holds other tests' rows)
    payloads: list[bytes] = field(default_factory=list)

    def run(self) -> None:
        """One scheduler pass, then wait until the worker has handled every message."""
        self.scheduler.claim_once()
        self.broker.join(QUEUE, fail_fast=True)


@contextmanager
def pipeline(
    settings: Settings, deliverer: Deliverer, clock: Clock, only: str, copies: int = 1
) -> Iterator[Pipeline]:
    """As `consulta scheduler` wires it (`deliver_many` for several keys, `deliver` for one).

    `copies`: each message is enqueued that many times (at-least-once delivery).
    """
    previous = dramatiq.get_broker()
    stub = make_broker(None)
    actors = configure(stub)
    runtime.install(deliverer)
    worker = dramatiq.Worker(stub, queues={QUEUE}, worker_threads=2, worker_timeout=100)
    worker.start()
    running: Pipeline

    def enqueue(key: str) -> None:
        for _ in range(copies if only in key else 0):
            running.payloads.append(actors.deliver.send(key).encode())

    def enqueue_many(keys: list[str]) -> None:
        ours = [key for key in keys if only in key]
        for _ in range(copies if ours else 0):
            running.payloads.append(actors.deliver_many.send(ours).encode())

    scheduler = Scheduler(
        settings.database_url, "read", enqueue, clock, reclaim_after=timedelta(0), enqueue_many=enqueue_many
    )
    running = Pipeline(scheduler, stub, only)
    try:
        yield running
    finally:
        worker.stop(timeout=5_000)
        scheduler.close()
        runtime.install(None)
        configure(previous)


def secrets_in(text: str, invitation: Invitation) -> list[str]:
    """Which of the invitation's secrets (the code, with or without its dash, the link token) `text` holds."""
    code = invitation.code
    candidates = {"code": code, "bare code": code.replace("-", ""), "link token": invitation.link_token}
    return [name for name, value in candidates.items() if value in text]


def link_in(body: str) -> str:
    match = re.search(r"/tele/invite/([A-Za-z0-9_-]+)", body)
    assert match, "the e-mail has an invitation link"
    return match.group(1)
