"""No double-booking under concurrent writers in several processes, on the real PostgreSQL.

Each client is its own process ('spawn') with its own `Consulta` and its own
connection pool; a barrier releases them together. 20- and 40-minute slots
overlap partially (09:20-09:40 lies inside 09:00-09:40), so only the agenda
day's version check can keep them apart. Afterwards every appointment is read
back from the event store.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment
from consulta.aggregates.errors import BlockConflictError, DomainError
from consulta.aggregates.rules import overlaps
from consulta.application import Consulta
from tests.factories import make_patient, make_practitioner

CLIENTS = 6
pytestmark = pytest.mark.slow


def _one(app: Consulta, step: tuple[Any, ...], now: datetime) -> tuple[Any, ...]:
    kind, actor, *args = step
    try:
        if kind == "book":
            practitioner_id, motif, starts_at, profile_id = args
            return ("ok", app.book(actor, practitioner_id, motif, "practice", starts_at, profile_id, now).id)
        if kind == "cancel":
            return ("ok", app.cancel(actor, args[0], "the practitioner is away", now).id)
        if kind == "hold":
            practitioner_id, motif, starts_at = args
            return ("ok", app.hold_slot(actor, practitioner_id, motif, "practice", starts_at, now, 5).id)
        practitioner_id, starts_at, ends_at = args
        return ("ok", app.block_period(actor, practitioner_id, starts_at, ends_at, now).id)
    except BlockConflictError as refusal:
        return ("refused", type(refusal).__name__, refusal.appointment_ids)
    except DomainError as refusal:
        return ("refused", type(refusal).__name__, [])
    except Exception as error:  # anything else is a failure the parent reports
        return ("error", repr(error), [])


def _client(env: dict[str, str], barrier: Any, results: Any, index: int, steps: list, now: datetime) -> None:
    try:
        app = Consulta(env=env)
    except Exception as error:  # report it, and release the others rather than leave them waiting
        barrier.abort()
        results.put((index, [("start", ("error", repr(error), []))]))
        return
    try:
        barrier.wait(timeout=120)
        results.put((index, [(step[0], _one(app, step, now)) for step in steps]))
    except Exception as error:
        results.put((index, [("start", ("error", repr(error), []))]))
    finally:
        app.close()


def run_clients(settings: Any, jobs: list[list[tuple[Any, ...]]], now: datetime) -> list[tuple[str, tuple]]:
    """Run each job in its own process, all released at once; every step's answer, in no order."""
    context = multiprocessing.get_context("spawn")
    env = {**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    barrier, results = context.Barrier(len(jobs)), context.Queue()
    processes = [
        context.Process(target=_client, args=(env, barrier, results, i, job, now))
        for i, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    answers: list[tuple[int, list[tuple[str, tuple]]]] = []
    while len(answers) < len(processes):
        try:
            answers.append(results.get(timeout=5))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not dead, f"a client process died: exit codes {dead}"
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return [answer for _, steps in sorted(answers) for answer in steps]


def stored_appointments(app: Consulta, practitioner_id: UUID, since: int) -> list[Appointment]:
    """Every appointment of the practitioner booked after `since`, read from the event log."""
    found = []
    for notification in app.recorder.select_notifications(
        since + 1, 100_000, topics=["consulta.Appointment.Booked"]
    ):
        appointment = app.repository.get(notification.originator_id)
        if appointment.practitioner_id == practitioner_id:
            found.append(appointment)
    return found


def assert_no_overlap(appointments: list[Appointment]) -> None:
    active = sorted((a for a in appointments if a.is_active), key=lambda a: a.starts_at)
    for before, after in pairwise(active):
        assert before.ends_at <= after.starts_at, f"{before.id} and {after.id} overlap"


def a_morning(app: Consulta, practitioner_id: UUID, now: datetime) -> tuple[Any, datetime]:
    """A weekday morning 09:00-12:00 a few days ahead, in the practitioner's zone."""
    rules = app.get_practitioner(practitioner_id).rules
    day = rules.local_day(now) + timedelta(days=3)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return rules, next(rules.slots_on(day, "consult", "practice")).starts_at


@pytest.fixture
def world(settings, now):
    app = Consulta(env=settings.eventsourcing_env())
    practitioner_id, staff, _ = make_practitioner(app, now)
    patient, profile_id, _ = make_patient(app, now)
    yield app, practitioner_id, staff, patient, profile_id
    app.close()


def test_many_processes_booking_overlapping_slots_never_double_book(settings, now, world):
    app, practitioner_id, _, patient, profile_id = world
    rules, nine = a_morning(app, practitioner_id, now)
    day = rules.local_day(nine)
    wanted = [
        ("consult", s.starts_at)
        for s in rules.slots_on(day, "consult", "practice")
        if s.starts_at.hour < nine.hour + 3
    ]
    wanted += [
        ("long", s.starts_at)
        for s in rules.slots_on(day, "long", "practice")
        if s.starts_at.hour < nine.hour + 3
    ]
    since = app.recorder.max_notification_id() or 0
    jobs = []
    for seed in range(CLIENTS):
        order = wanted[:]
        random.Random(seed).shuffle(order)
        jobs.append([("book", patient, practitioner_id, motif, start, profile_id) for motif, start in order])
    answers = run_clients(settings, jobs, now)
    assert [a for _, a in answers if a[0] == "error"] == []
    assert {a[1] for _, a in answers if a[0] == "refused"} == {"SlotTakenError"}
    booked = {a[1] for _, a in answers if a[0] == "ok"}
    stored = stored_appointments(app, practitioner_id, since)
    assert {a.id for a in stored} == booked  # nothing saved for a refused attempt
    assert_no_overlap(stored)
    agenda_day = app.repository.get(AgendaDay.id_for(practitioner_id, day))
    assert set(agenda_day.appointments) == {str(i) for i in booked}
    assert len(booked) >= 5  # the morning is 3 hours: at least 5 bookings of at most 40 minutes fit


def test_cancel_and_book_races_keep_the_agenda_consistent(settings, now, world):
    app, practitioner_id, staff, patient, profile_id = world
    rules, nine = a_morning(app, practitioner_id, now)
    day = rules.local_day(nine)
    shorts = [s.starts_at for s in rules.slots_on(day, "consult", "practice")][:6]
    first = [app.book(patient, practitioner_id, "consult", "practice", s, profile_id, now).id for s in shorts]
    since = app.recorder.max_notification_id() or 0
    longs = [s.starts_at for s in rules.slots_on(day, "long", "practice")][:3]  # each over two cancelled ones
    jobs: list[list[tuple[Any, ...]]] = [[("cancel", staff, appointment_id)] for appointment_id in first[:4]]
    jobs += [
        [("book", patient, practitioner_id, "long", start, profile_id) for start in longs] for _ in range(2)
    ]
    answers = run_clients(settings, jobs, now)
    assert [a for _, a in answers if a[0] == "error"] == []
    assert all(a[0] == "ok" for kind, a in answers if kind == "cancel")
    assert {a[1] for kind, a in answers if kind == "book" and a[0] == "refused"} <= {"SlotTakenError"}
    everything = [app.repository.get(i) for i in first] + stored_appointments(app, practitioner_id, since)
    assert_no_overlap(everything)
    agenda_day = app.repository.get(AgendaDay.id_for(practitioner_id, day))
    assert set(agenda_day.appointments) == {str(a.id) for a in everything if a.is_active}
    # The first two long slots lie over cancelled appointments only: taken in the race, or free now.
    taken = {a.starts_at for a in everything if a.is_active and a.motif_id == "long"}
    for start in set(longs[:2]) - taken:
        app.book(patient, practitioner_id, "long", "practice", start, profile_id, now)


def test_block_and_book_races_leave_no_appointment_inside_a_block(settings, now, world):
    app, practitioner_id, staff, patient, profile_id = world
    rules, nine = a_morning(app, practitioner_id, now)
    day = rules.local_day(nine)
    slots = [("consult", s.starts_at) for s in rules.slots_on(day, "consult", "practice")]
    slots += [("long", s.starts_at) for s in rules.slots_on(day, "long", "practice")]
    since = app.recorder.max_notification_id() or 0
    blocks = [
        (nine + timedelta(minutes=30), nine + timedelta(minutes=90)),
        (nine + timedelta(hours=2), nine + timedelta(hours=5)),
    ]
    jobs: list[list[tuple[Any, ...]]] = [[("block", staff, practitioner_id, s, e)] for s, e in blocks]
    for seed in range(CLIENTS - 2):
        order = slots[:]
        random.Random(seed).shuffle(order)
        jobs.append(
            [("book", patient, practitioner_id, motif, start, profile_id) for motif, start in order[:8]]
        )
    answers = run_clients(settings, jobs, now)
    assert [a for _, a in answers if a[0] == "error"] == []
    assert {a[1] for kind, a in answers if kind == "book" and a[0] == "refused"} <= {"SlotTakenError"}
    assert {a[1] for kind, a in answers if kind == "block" and a[0] == "refused"} <= {"BlockConflictError"}
    stored = stored_appointments(app, practitioner_id, since)
    assert_no_overlap(stored)
    agenda_day = app.repository.get(AgendaDay.id_for(practitioner_id, day))
    for appointment in stored:
        assert not any(
            overlaps(appointment.starts_at, appointment.ends_at, s, e) for s, e in agenda_day.blocks.values()
        )
    by_id = {str(a.id): a for a in stored}
    for kind, answer in answers:  # a refused block names real appointments inside its period
        if kind == "block" and answer[0] == "refused":
            assert answer[2] and all(by_id[i].is_active for i in answer[2])
    assert len(agenda_day.blocks) == sum(1 for kind, a in answers if kind == "block" and a[0] == "ok")


def test_holds_and_bookings_of_many_patients_never_overlap(settings, now, world):
    app, practitioner_id, _, _, _ = world
    rules, nine = a_morning(app, practitioner_id, now)
    day = rules.local_day(nine)
    slots = [("consult", s.starts_at) for s in rules.slots_on(day, "consult", "practice")][:6]
    slots += [("long", s.starts_at) for s in rules.slots_on(day, "long", "practice")][:3]
    jobs = []
    for seed in range(CLIENTS):
        patient, profile_id, _ = make_patient(app, now)
        order = slots[:]
        random.Random(seed).shuffle(order)
        jobs.append(
            [
                ("hold", patient, practitioner_id, m, s)
                if i % 2
                else ("book", patient, practitioner_id, m, s, profile_id)
                for i, (m, s) in enumerate(order[:6])
            ]
        )
    answers = run_clients(settings, jobs, now)
    assert [a for _, a in answers if a[0] == "error"] == []
    assert {a[1] for _, a in answers if a[0] == "refused"} <= {"SlotTakenError"}
    agenda_day = app.repository.get(AgendaDay.id_for(practitioner_id, day))
    booked = [app.repository.get(UUID(a)) for a in agenda_day.appointments]
    assert_no_overlap(booked)
    held = [(s, e, owner) for s, e, _, until, owner in agenda_day.holds.values() if until > now]
    for i, (start, end, owner) in enumerate(held):
        assert not any(overlaps(start, end, s, e) for s, e, _ in held[i + 1 :])
        # A patient's own hold may lie under their own booking; nobody else's may.
        assert all(str(a.booked_by) == owner for a in booked if overlaps(start, end, a.starts_at, a.ends_at))
    assert {str(a[1]) for kind, a in answers if kind == "book" and a[0] == "ok"} == set(
        agenda_day.appointments
    )
