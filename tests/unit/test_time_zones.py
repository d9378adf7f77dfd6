"""Time zones and daylight-saving changes: wall-clock slots, no slot lost or duplicated.

Europe/Paris changes on 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00),
America/New_York on 2026-03-08 and 2026-11-01; Pacific/Noumea has no change
and is 11 hours ahead of UTC, so its mornings are the previous UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.errors import SlotTakenError
from consulta.aggregates.rules import AgendaRules, local_instant
from tests.unit.helpers import MOTIFS, add_patient, add_practitioner, at, memory_app

SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)
NIGHT = [
    {"weekday": 6, "start": "01:00", "end": "04:00", "place": "practice"},
    {"weekday": 6, "start": "09:00", "end": "12:00", "place": "practice"},
]
CHANGES = {
    "Europe/Paris": (SPRING, AUTUMN),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Pacific/Noumea": (SPRING, AUTUMN),
}
DAILY = [{"weekday": d, "start": "09:00", "end": "12:00", "place": "practice"} for d in range(7)]


def rules_in(zone: str, hours=DAILY) -> AgendaRules:
    return AgendaRules.from_data({"timezone": zone}, hours, MOTIFS)


def wall(slot, zone: str) -> str:
    return slot.starts_at.astimezone(ZoneInfo(zone)).strftime("%H:%M")


@pytest.mark.parametrize("zone", sorted(CHANGES))
def test_nine_oclock_stays_nine_oclock_local_across_both_changes(zone):
    for change in CHANGES[zone]:
        utc_hours = set()
        for offset in range(-2, 3):
            day = change + timedelta(days=offset)
            first = next(rules_in(zone).slots_on(day, "short", "practice"))
            assert (wall(first, zone), rules_in(zone).local_day(first.starts_at)) == ("09:00", day)
            utc_hours.add(first.starts_at.hour)
        assert len(utc_hours) == (
            1 if zone == "Pacific/Noumea" else 2
        )  # the UTC hour moves, not the local one


def test_noumea_morning_is_the_previous_utc_day_and_books_on_the_local_day():
    app = memory_app()
    practitioner_id, _ = add_practitioner(app, timezone="Pacific/Noumea", hours=DAILY)
    patient, profile_id = add_patient(app)
    day = date(2026, 6, 3)
    start = at(day, "09:00", "Pacific/Noumea")
    assert start.date() == day - timedelta(days=1)
    app.book(
        patient, practitioner_id, "short", "practice", start, profile_id, datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert app.repository.get(AgendaDay.id_for(practitioner_id, day)).appointments


def test_spring_night_range_offers_the_two_real_hours_once():
    slots = list(rules_in("Europe/Paris", NIGHT).slots_on(SPRING, "short", "practice"))
    night = [wall(s, "Europe/Paris") for s in slots if s.starts_at < at(SPRING, "05:00")]
    assert night == ["01:00", "01:20", "01:40", "03:00", "03:20", "03:40"]


def test_autumn_night_range_offers_the_four_real_hours_once():
    slots = [
        s
        for s in rules_in("Europe/Paris", NIGHT).slots_on(AUTUMN, "short", "practice")
        if s.starts_at < at(AUTUMN, "05:00")
    ]
    assert len(slots) == 12 and len({s.starts_at for s in slots}) == 12
    assert [wall(s, "Europe/Paris") for s in slots][3:9] == ["02:00", "02:20", "02:40"] * 2
    assert all(a.ends_at == b.starts_at for a, b in pairwise(slots))


def test_a_range_starting_inside_the_spring_gap_keeps_its_existing_part():
    """Bug fixed: a range whose start did not exist (02:00 on the change day) offered nothing."""
    hours = [
        {"weekday": 6, "start": "02:00", "end": "04:00", "place": "practice"},
        {"weekday": 6, "start": "05:00", "end": "06:00", "place": "video"},
    ]
    slots = list(rules_in("Europe/Paris", hours).slots_on(SPRING, "short", "practice"))
    assert [wall(s, "Europe/Paris") for s in slots] == ["03:00", "03:20", "03:40"]


def test_a_range_ending_inside_the_spring_gap_stops_at_the_jump():
    hours = [{"weekday": 6, "start": "01:00", "end": "02:30", "place": "practice"}]
    slots = list(rules_in("Europe/Paris", hours).slots_on(SPRING, "short", "practice"))
    assert [wall(s, "Europe/Paris") for s in slots] == ["01:00", "01:20", "01:40"]


def test_a_reserved_period_starting_in_the_gap_still_reserves():
    """Bug fixed: a reserved period whose start did not exist was ignored on the change day."""
    rules = AgendaRules.from_data(
        {"timezone": "Europe/Paris"},
        NIGHT,
        MOTIFS,
        [{"weekday": 6, "start": "02:00", "end": "03:30", "motif_ids": ["long"]}],
    )
    assert [wall(s, "Europe/Paris") for s in rules.slots_on(SPRING, "short", "practice")][:4] == [
        "01:00",
        "01:20",
        "01:40",
        "03:40",
    ]


ZONES = st.sampled_from(["Europe/Paris", "America/New_York", "Pacific/Noumea", "Australia/Lord_Howe"])
DAYS = st.sampled_from(
    [SPRING, AUTUMN, date(2026, 3, 8), date(2026, 11, 1), date(2026, 4, 5), date(2026, 10, 4)]
)
TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@settings(max_examples=200, deadline=None)
@given(ZONES, DAYS, TIMES, TIMES, st.sampled_from(["short", "long"]))
def test_slots_of_any_range_on_any_change_day_tile_its_real_duration(zone, day, a, b, motif):
    start, end = sorted((a, b))
    if start == end:
        return
    hours = [
        {
            "weekday": day.weekday(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "place": "practice",
        }
    ]
    rules = rules_in(zone, hours)
    slots = list(rules.slots_on(day, motif, "practice"))
    lo, hi = local_instant(day, start, rules.zone), local_instant(day, end, rules.zone)
    length = timedelta(minutes=rules.motif(motif).duration_minutes)
    assert len(slots) == max(0, (hi - lo) // length)
    assert all(s.ends_at - s.starts_at == length and rules.local_day(s.starts_at) == day for s in slots)
    assert [s.starts_at for s in slots] == [lo + i * length for i in range(len(slots))]
    for slot in slots:  # every offered slot is accepted when booked by its time
        assert (
            rules.check_bookable(motif, "practice", slot.starts_at, lo - timedelta(days=1), staff=True)
            == slot
        )


def test_bookings_across_the_spring_jump_overlap_by_real_time():
    app = memory_app()
    practitioner_id, _ = add_practitioner(app, hours=NIGHT)
    patient, profile_id = add_patient(app)
    now = datetime(2026, 3, 20, tzinfo=UTC)
    app.book(patient, practitioner_id, "long", "practice", at(SPRING, "01:40"), profile_id, now)  # to 03:20
    with pytest.raises(SlotTakenError):
        app.book(patient, practitioner_id, "short", "practice", at(SPRING, "03:00"), profile_id, now)
    app.book(patient, practitioner_id, "short", "practice", at(SPRING, "03:20"), profile_id, now)


def test_both_autumn_two_oclocks_are_distinct_bookings():
    app = memory_app()
    practitioner_id, _ = add_practitioner(app, hours=NIGHT)
    patient, profile_id = add_patient(app)
    paris, now = ZoneInfo("Europe/Paris"), datetime(2026, 10, 1, tzinfo=UTC)
    first = datetime(2026, 10, 25, 2, 0, tzinfo=paris, fold=0)
    second = datetime(2026, 10, 25, 2, 0, tzinfo=paris, fold=1)
    assert second - first == timedelta(hours=0) and second.astimezone(UTC) - first.astimezone(
        UTC
    ) == timedelta(hours=1)
    for start in (first, second):
        app.book(patient, practitioner_id, "short", "practice", start, profile_id, now)
    day = app.repository.get(AgendaDay.id_for(practitioner_id, AUTUMN))
    assert sorted(s for s, _, _ in day.appointments.values()) == [
        first.astimezone(UTC),
        second.astimezone(UTC),
    ]


def test_a_block_across_the_spring_change_covers_the_short_day_whole():
    app = memory_app()
    practitioner_id, staff = add_practitioner(app, hours=DAILY)
    patient, profile_id = add_patient(app)
    now = datetime(2026, 3, 20, tzinfo=UTC)
    start, end = at(SPRING - timedelta(days=1), "10:00"), at(SPRING + timedelta(days=1), "10:00")
    app.block_period(staff, practitioner_id, start, end, now)
    short_day = app.repository.get(AgendaDay.id_for(practitioner_id, SPRING))
    [(lo, hi)] = short_day.blocks.values()
    assert (lo, hi, hi - lo) == (
        at(SPRING, "00:00"),
        at(SPRING + timedelta(days=1), "00:00"),
        timedelta(hours=23),
    )
    for day, hhmm in (
        (SPRING - timedelta(days=1), "11:00"),
        (SPRING, "09:00"),
        (SPRING + timedelta(days=1), "09:40"),
    ):
        with pytest.raises(SlotTakenError):
            app.book(patient, practitioner_id, "short", "practice", at(day, hhmm), profile_id, now)
    app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(SPRING + timedelta(days=1), "10:00"),
        profile_id,
        now,
    )


def test_the_autumn_day_is_25_hours_long():
    lo, hi = rules_in("Europe/Paris").day_bounds(AUTUMN)
    assert hi - lo == timedelta(hours=25)


def test_new_york_practitioner_keeps_local_nine_and_patient_cutoff_in_real_hours():
    app = memory_app()
    zone = "America/New_York"
    practitioner_id, _ = add_practitioner(app, timezone=zone, hours=DAILY)
    patient, profile_id = add_patient(app)
    change = date(2026, 3, 8)
    booked = app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(change, "09:00", zone),
        profile_id,
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert at(change, "09:00", zone).hour == 13  # EDT: UTC-4 from 02:00 that morning
    # 4 real hours before 09:00 EDT is 05:00 EDT (04:00 on the clock before the jump would be 5 hours).
    app.cancel(patient, booked.id, "", at(change, "05:00", zone))
