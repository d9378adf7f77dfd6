"""AgendaDay, the double-booking guard: given / when / then, on the aggregate alone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.errors import BlockConflictError, SlotTakenError, VideoCapReachedError

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
NINE = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # 09:00 in Paris
ALICE, BOB = uuid4(), uuid4()


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def a_day() -> AgendaDay:
    return AgendaDay(practitioner_id=uuid4(), day=date(2026, 6, 2))


def test_id_is_derived_from_practitioner_and_day():
    practitioner = uuid4()
    day = AgendaDay(practitioner_id=practitioner, day=date(2026, 6, 2))
    assert (
        day.id
        == AgendaDay.id_for(practitioner, date(2026, 6, 2))
        != AgendaDay.id_for(practitioner, date(2026, 6, 3))
    )


def test_placed_appointment_is_recorded():
    day, booking = a_day(), uuid4()
    day.place(booking, NINE, NINE + minutes(20), "practice", NOW, None)
    assert day.appointments == {str(booking): [NINE, NINE + minutes(20), "practice"]}


@pytest.mark.parametrize(
    ("offset", "length"), [(0, 20), (20, 40), (-20, 40), (-39, 40), (39, 5), (-100, 200)]
)
def test_any_overlap_of_any_durations_is_refused(offset, length):
    day = a_day()
    day.place(uuid4(), NINE, NINE + minutes(40), "practice", NOW, None)
    with pytest.raises(SlotTakenError):
        day.place(uuid4(), NINE + minutes(offset), NINE + minutes(offset + length), "practice", NOW, None)


@pytest.mark.parametrize(("offset", "length"), [(40, 20), (-20, 20), (-40, 40), (60, 40)])
def test_adjacent_intervals_are_both_placed(offset, length):
    day = a_day()
    day.place(uuid4(), NINE, NINE + minutes(40), "practice", NOW, None)
    day.place(uuid4(), NINE + minutes(offset), NINE + minutes(offset + length), "practice", NOW, None)
    assert len(day.appointments) == 2


def test_released_time_can_be_booked_again():
    day, first = a_day(), uuid4()
    day.place(first, NINE, NINE + minutes(20), "practice", NOW, None)
    day.release(first)
    day.place(uuid4(), NINE, NINE + minutes(40), "practice", NOW, None)
    assert str(first) not in day.appointments and len(day.appointments) == 1


def test_releasing_an_unknown_appointment_records_nothing():
    day = a_day()
    day.release(uuid4())
    assert len(day.collect_events()) == 1  # only the opening


def test_a_live_hold_of_someone_else_refuses_booking():
    day = a_day()
    day.hold(uuid4(), NINE, NINE + minutes(20), "practice", NOW + minutes(5), NOW, by=ALICE)
    with pytest.raises(SlotTakenError):
        day.place(uuid4(), NINE + minutes(10), NINE + minutes(30), "practice", NOW, None, by=BOB)
    with pytest.raises(SlotTakenError):
        day.hold(uuid4(), NINE, NINE + minutes(40), "practice", NOW + minutes(5), NOW, by=BOB)


def test_an_expired_hold_frees_itself_and_is_dropped_by_the_next_hold():
    day, old = a_day(), uuid4()
    day.hold(old, NINE, NINE + minutes(20), "practice", NOW + minutes(5), NOW, by=ALICE)
    later = NOW + minutes(5)
    day.hold(uuid4(), NINE, NINE + minutes(40), "practice", later + minutes(5), later, by=BOB)
    assert str(old) not in day.holds
    day.place(uuid4(), NINE + minutes(40), NINE + minutes(60), "practice", later, None, by=ALICE)


def test_booking_with_ones_own_hold_consumes_it():
    day, hold, booking = a_day(), uuid4(), uuid4()
    day.hold(hold, NINE, NINE + minutes(20), "video", NOW + minutes(5), NOW, by=ALICE)
    day.place(booking, NINE, NINE + minutes(20), "video", NOW, None, hold_id=hold, by=ALICE)
    assert day.holds == {} and str(booking) in day.appointments


def test_a_hold_replaced_by_its_owner_is_dropped():
    day, first, second = a_day(), uuid4(), uuid4()
    day.hold(first, NINE, NINE + minutes(20), "practice", NOW + minutes(5), NOW, by=ALICE)
    day.hold(
        second, NINE + minutes(60), NINE + minutes(80), "practice", NOW + minutes(5), NOW, [str(first)], ALICE
    )
    assert list(day.holds) == [str(second)]


def test_a_hold_cannot_be_replaced_by_someone_else():
    day, alices = a_day(), uuid4()
    day.hold(alices, NINE, NINE + minutes(20), "practice", NOW + minutes(5), NOW, by=ALICE)
    day.hold(
        uuid4(), NINE + minutes(60), NINE + minutes(80), "practice", NOW + minutes(5), NOW, [str(alices)], BOB
    )
    assert str(alices) in day.holds
    with pytest.raises(SlotTakenError):
        day.place(uuid4(), NINE, NINE + minutes(20), "practice", NOW, None, hold_id=alices, by=BOB)


def test_a_hold_over_an_appointment_or_a_block_is_refused():
    day = a_day()
    day.place(uuid4(), NINE, NINE + minutes(20), "practice", NOW, None)
    day.block(uuid4(), NINE + minutes(60), NINE + minutes(120))
    for start in (NINE + minutes(10), NINE + minutes(100)):
        with pytest.raises(SlotTakenError):
            day.hold(uuid4(), start, start + minutes(20), "practice", NOW + minutes(5), NOW, by=ALICE)


def test_block_refuses_bookings_inside_and_lifting_frees_them():
    day, block = a_day(), uuid4()
    day.block(block, NINE, NINE + minutes(120))
    with pytest.raises(SlotTakenError):
        day.place(uuid4(), NINE + minutes(100), NINE + minutes(140), "practice", NOW, None)
    day.unblock(block)
    day.place(uuid4(), NINE + minutes(100), NINE + minutes(140), "practice", NOW, None)


def test_block_over_appointments_lists_exactly_them():
    day, inside, partly, outside = a_day(), uuid4(), uuid4(), uuid4()
    day.place(inside, NINE, NINE + minutes(20), "practice", NOW, None)
    day.place(partly, NINE + minutes(50), NINE + minutes(90), "practice", NOW, None)
    day.place(outside, NINE + minutes(90), NINE + minutes(110), "practice", NOW, None)
    with pytest.raises(BlockConflictError) as refused:
        day.block(uuid4(), NINE, NINE + minutes(60))
    assert refused.value.appointment_ids == sorted([str(inside), str(partly)]) and day.blocks == {}


def test_video_cap_counts_only_video_and_frees_on_release():
    day, video = a_day(), uuid4()
    day.place(video, NINE, NINE + minutes(20), "video", NOW, 1)
    day.place(uuid4(), NINE + minutes(20), NINE + minutes(40), "practice", NOW, 1)
    with pytest.raises(VideoCapReachedError):
        day.place(uuid4(), NINE + minutes(40), NINE + minutes(60), "video", NOW, 1)
    day.release(video)
    day.place(uuid4(), NINE + minutes(40), NINE + minutes(60), "video", NOW, 1)


def test_a_cap_of_zero_refuses_every_video():
    with pytest.raises(VideoCapReachedError):
        a_day().place(uuid4(), NINE, NINE + minutes(20), "video", NOW, 0)
