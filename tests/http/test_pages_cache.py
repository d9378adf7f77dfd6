"""The pages' cache of cards and free slots (consulta.projections.cached) never outlives what it was read from.

Each test reads a page first (so the cache holds an entry), then changes the
agenda or the clock, and reads it again: a booking waited for hides its slot,
a cancellation waited for shows it again, the moving notice and an expiring
hold are seen without any projection moving.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from consulta.clock import FixedClock
from consulta.http.pages_common import slot_value
from consulta.projections.cached import CachedReads
from consulta.services import BOOKING_VIEWS, Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner

from .pages_client import page_client, slot_values

NOTICE = 60


@pytest.fixture()
def clocked(settings: Settings, services: Services, now: datetime) -> Iterator[Services]:
    """A web process of its own, whose clock the test moves (the session's projections feed it)."""
    with Services.start(settings, FixedClock(now)) as own:
        yield own


def practice(services: Services, now: datetime) -> tuple[Any, Any, Any]:
    pid, staff, position = make_practitioner(services.app, now, policy={"min_notice_minutes": NOTICE})
    services.wait_for(position)
    card = services.reads.practitioner(pid)
    assert card is not None
    return pid, card, staff


async def test_a_booking_hides_its_slot_and_a_cancellation_shows_it_again(
    settings: Settings, services: Services, clocked: Services, now: datetime
) -> None:
    pid, _card, staff = practice(services, now)
    patient, profile_id, _email = make_patient(services.app, now)
    async with page_client(settings, clocked) as client:
        before = slot_values((await client.get(f"/practitioners/{pid}")).text)
        assert before
        chosen = before[1]
        mode, _, instant = chosen.partition("|")
        booked = services.app.book(
            patient, pid, "consult", mode, datetime.fromisoformat(instant), profile_id, now
        )
        assert clocked.wait_for(booked.position, BOOKING_VIEWS)
        after = slot_values((await client.get(f"/practitioners/{pid}")).text)
        assert chosen not in after and before[0] in after
        cancelled = services.app.cancel(staff, booked.id, "no longer needed", now)
        assert clocked.wait_for(cancelled.position, BOOKING_VIEWS)
        again = slot_values((await client.get(f"/practitioners/{pid}")).text)
        assert chosen in again


async def test_the_moving_notice_drops_a_slot_from_a_cached_page(
    settings: Settings, services: Services, clocked: Services, now: datetime
) -> None:
    pid, card, _staff = practice(services, now)
    first = services.reads.free_slots(card, "consult", now, now + timedelta(days=7), now)[0]
    clock = clocked.clock
    assert isinstance(clock, FixedClock)
    clock.at = first.starts_at - timedelta(minutes=NOTICE, seconds=10)
    async with page_client(settings, clocked) as client:
        shown = slot_values((await client.get(f"/practitioners/{pid}")).text)
        assert shown[0] == slot_value(first.mode, first.starts_at)
        clock.advance(seconds=20)  # the entry is 20 s old: still used, the slot is now within notice
        later = slot_values((await client.get(f"/practitioners/{pid}")).text)
        assert slot_value(first.mode, first.starts_at) not in later and later


def test_an_expiring_hold_frees_its_slot_within_the_entry_lifetime(
    services: Services, clocked: Services, now: datetime
) -> None:
    pid, card, _staff = practice(services, now)
    patient, _profile_id, _email = make_patient(services.app, now)
    slot = services.reads.free_slots(card, "consult", now, now + timedelta(days=7), now)[2]
    held = services.app.hold_slot(patient, pid, "consult", slot.mode, slot.starts_at, now, minutes=1)
    assert clocked.wait_for(held.position, BOOKING_VIEWS)
    cache = CachedReads(clocked.reads, clocked.watcher)
    horizon = now + timedelta(days=card.rules.policy.horizon_days)
    at = now + timedelta(seconds=30)
    assert slot not in cache.free_slots(card, "consult", at, horizon, at)
    later = now + timedelta(seconds=61)  # 31 s after the entry was made: the hold has expired
    assert slot in cache.free_slots(card, "consult", later, horizon, later)


def test_the_staff_agenda_and_card_follow_the_projections(
    services: Services, clocked: Services, now: datetime
) -> None:
    pid, card, _staff = practice(services, now)
    patient, profile_id, _email = make_patient(services.app, now)
    cache = CachedReads(clocked.reads, clocked.watcher)
    today = card.rules.local_day(now)
    day = next(
        today + timedelta(days=d)
        for d in range(2, 9)
        if any(card.rules.slots_on(today + timedelta(days=d), "consult"))  # a generator: always truthy
    )
    lo, hi = card.rules.day_bounds(day)
    free = cache.free_slots(card, "consult", lo, hi, now, staff=True, limit=5000)
    assert free and not cache.agenda(pid, lo, hi)["appointments"]
    booked = services.app.book(patient, pid, "consult", free[0].mode, free[0].starts_at, profile_id, now)
    assert clocked.wait_for(booked.position, BOOKING_VIEWS)
    assert [a["id"] for a in cache.agenda(pid, lo, hi)["appointments"]] == [booked.id]
    assert free[0] not in cache.free_slots(card, "consult", lo, hi, now, staff=True, limit=5000)


def test_nothing_is_cached_without_a_watcher(services: Services, now: datetime) -> None:
    pid, _card, _staff = practice(services, now)
    cache = CachedReads(services.reads, None)
    assert cache.practitioner(pid) is not cache.practitioner(pid)  # read each time


async def test_the_week_view_follows_a_booking_and_a_cancellation(
    settings: Settings, services: Services, clocked: Services, now: datetime
) -> None:
    from consulta.application import Actor
    from tests.factories import MOTIFS, WEEKDAY_HOURS, unique_email

    from .pages_client import PASSWORD, login

    email = unique_email("dr")
    pid = services.app.add_practitioner(
        email, PASSWORD, "Dr Cache Week", "Dermatology", "Lille", now, "1 rue"
    ).id
    staff = Actor(services.app.get_practitioner(pid).account_id, "practitioner", pid)
    services.wait_for(services.app.configure_agenda(staff, pid, hours=WEEKDAY_HOURS, motifs=MOTIFS).position)
    patient, profile_id, _email = make_patient(services.app, now, "Rita", "Weekcache")
    card = services.reads.practitioner(pid)
    assert card is not None
    today = card.rules.local_day(now)
    monday = today + timedelta(days=7 - today.weekday())
    lo, hi = card.rules.day_bounds(monday)
    slot = services.reads.free_slots(card, "consult", lo, hi, now, staff=True)[3]
    link = f"slot={slot.mode}%7C{slot.starts_at.isoformat().replace(':', '%3A').replace('+', '%2B')}"
    week = f"/pro/agenda/week?start={monday.isoformat()}"
    async with page_client(settings, clocked) as client:
        assert (await login(client, email)).status_code == 303
        before = (await client.get(week)).text
        assert link in before and "Rita Weekcache" not in before
        booked = services.app.book(patient, pid, "consult", slot.mode, slot.starts_at, profile_id, now)
        assert clocked.wait_for(booked.position, BOOKING_VIEWS)
        after = (await client.get(week)).text
        assert link not in after and "Rita Weekcache" in after
        cancelled = services.app.cancel(staff, booked.id, "moved away", now)
        assert clocked.wait_for(cancelled.position, BOOKING_VIEWS)
        again = (await client.get(week)).text
        assert link in again


async def test_a_cached_day_changes_when_no_free_slot_does(
    settings: Settings, services: Services, clocked: Services, now: datetime
) -> None:
    """Viewed for a video-only motif with no video hours, the day lists no free slot: only positions can tell."""
    from consulta.application import Actor
    from tests.factories import MOTIFS, WEEKDAY_HOURS, unique_email

    from .pages_client import PASSWORD, login

    email = unique_email("dr")
    pid = services.app.add_practitioner(
        email, PASSWORD, "Dr Cache Status", "Dermatology", "Lille", now, "1 rue"
    ).id
    staff = Actor(services.app.get_practitioner(pid).account_id, "practitioner", pid)
    hours = [h for h in WEEKDAY_HOURS if h["place"] == "practice"]
    motifs = [*MOTIFS, {"id": "tele", "name": "Call", "duration_minutes": 15, "modes": ["video"]}]
    services.wait_for(services.app.configure_agenda(staff, pid, hours=hours, motifs=motifs).position)
    patient, profile_id, _email = make_patient(services.app, now, "Hugo", "Statuscache")
    card = services.reads.practitioner(pid)
    assert card is not None
    slot = services.reads.free_slots(card, "consult", now + timedelta(days=1), now + timedelta(days=8), now)[
        0
    ]
    day = f"/pro/agenda?day={card.rules.local_day(slot.starts_at).isoformat()}&motif=tele"
    async with page_client(settings, clocked) as client:
        assert (await login(client, email)).status_code == 303
        before = (await client.get(day)).text
        assert "Hugo Statuscache" not in before and "slot=" not in before
        booked = services.app.book(patient, pid, "consult", slot.mode, slot.starts_at, profile_id, now)
        assert clocked.wait_for(booked.position, BOOKING_VIEWS)
        after = (await client.get(day)).text
        assert "Hugo Statuscache" in after and 'class="status booked"' in after
        missed = services.app.cancel(staff, booked.id, "ill", now)
        assert clocked.wait_for(missed.position, BOOKING_VIEWS)
        again = (await client.get(day)).text
        assert 'class="status cancelled"' in again and 'class="status booked"' not in again


def test_first_days_are_the_first_days_of_by_day(services: Services, now: datetime) -> None:
    from consulta.http.pages_public import by_day, first_days

    _pid, card, _staff = practice(services, now)
    slots = [
        s
        for d in range(10)
        for s in card.rules.slots_on(card.rules.local_day(now) + timedelta(days=d), "consult")
    ]
    for count in (0, 1, 2, 5, 50):
        assert first_days(slots, card.timezone, count) == by_day(slots, card.timezone)[:count]
