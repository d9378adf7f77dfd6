"""Slot generation and check_bookable: given rules, when asked, then slots or the refusing rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consulta.aggregates.errors import (
    BookingWindowError,
    InvalidInputError,
    MotifNotBookableError,
    NotFoundError,
    SlotNotOfferedError,
)
from consulta.aggregates.rules import AgendaRules
from tests.unit.helpers import EVERY_DAY, MOTIFS, NOW, at

TUESDAY = date(2026, 6, 2)


def rules(reserved=(), **policy) -> AgendaRules:
    return AgendaRules.from_data({"timezone": "Europe/Paris", **policy}, EVERY_DAY, MOTIFS, reserved)


def local_starts(found) -> list[str]:
    return [s.starts_at.astimezone(rules().zone).strftime("%H:%M") for s in found]


def test_slots_follow_each_other_by_the_motif_duration_inside_each_range():
    assert local_starts(rules().slots_on(TUESDAY, "long", "practice")) == ["09:00", "09:40", "10:20", "11:00"]
    assert local_starts(rules().slots_on(TUESDAY, "short", "video")) == [
        "14:00",
        "14:20",
        "14:40",
        "15:00",
        "15:20",
        "15:40",
    ]


def test_slots_without_a_mode_cover_every_place_in_order():
    found = list(rules().slots_on(TUESDAY, "short"))
    assert len(found) == 9 + 6 and found == sorted(found, key=lambda s: s.starts_at)
    assert {s.mode for s in found} == {"practice", "video"}


def test_a_practice_only_motif_has_no_video_slots():
    assert list(rules().slots_on(TUESDAY, "offline", "video")) == []


def test_unknown_motif_is_not_found():
    with pytest.raises(NotFoundError):
        list(rules().slots_on(TUESDAY, "nope"))


def test_a_reserved_period_keeps_other_motifs_out_and_lets_its_own_in():
    reserved = [{"weekday": 1, "start": "09:00", "end": "10:00", "motif_ids": ["long"]}]
    assert local_starts(rules(reserved).slots_on(TUESDAY, "short", "practice"))[0] == "10:00"
    assert local_starts(rules(reserved).slots_on(TUESDAY, "long", "practice"))[0] == "09:00"
    with pytest.raises(SlotNotOfferedError):
        rules(reserved).check_bookable("short", "practice", at(TUESDAY, "09:20"), NOW, staff=True)


def test_bookable_slot_is_returned_with_its_end():
    slot = rules().check_bookable("long", "practice", at(TUESDAY, "09:40"), NOW, staff=False)
    assert (slot.starts_at, slot.ends_at, slot.mode) == (
        at(TUESDAY, "09:40"),
        at(TUESDAY, "10:20"),
        "practice",
    )


@pytest.mark.parametrize(
    ("motif", "mode", "hhmm", "error"),
    [
        ("long", "practice", "09:20", SlotNotOfferedError),  # misaligned for 40 minutes
        ("short", "practice", "09:05", SlotNotOfferedError),
        ("short", "practice", "12:00", SlotNotOfferedError),  # outside hours
        ("short", "practice", "14:00", SlotNotOfferedError),  # video hours
        ("long", "practice", "11:40", SlotNotOfferedError),  # would end after the range
        ("offline", "video", "09:00", MotifNotBookableError),  # wrong mode for the motif
        ("offline", "practice", "09:00", MotifNotBookableError),  # not online
        ("short", "home", "09:00", InvalidInputError),
        ("nope", "practice", "09:00", NotFoundError),
    ],
)
def test_patients_are_refused_outside_the_rules(motif, mode, hhmm, error):
    with pytest.raises(error):
        rules().check_bookable(motif, mode, at(TUESDAY, hhmm), NOW, staff=False)


def test_naive_times_are_refused():
    with pytest.raises(InvalidInputError):
        rules().check_bookable(
            "short", "practice", at(TUESDAY, "09:00").replace(tzinfo=None), NOW, staff=True
        )


def test_notice_applies_to_patients_and_not_to_staff():
    strict = rules(min_notice_minutes=24 * 60)
    soon = at(NOW.date(), "09:00")  # Monday 09:00 Paris, one hour from now
    with pytest.raises(BookingWindowError):
        strict.check_bookable("short", "practice", soon, NOW, staff=False)
    assert strict.check_bookable("short", "practice", soon, NOW, staff=True).starts_at == soon
    assert strict.check_bookable("short", "practice", at(TUESDAY, "09:00"), NOW, staff=False)


def test_notice_boundary_is_inclusive():
    exact = rules(min_notice_minutes=60)
    assert exact.check_bookable("short", "practice", at(NOW.date(), "09:00"), NOW, staff=False)
    with pytest.raises(BookingWindowError):
        rules(min_notice_minutes=61).check_bookable(
            "short", "practice", at(NOW.date(), "09:00"), NOW, staff=False
        )


def test_horizon_applies_to_patients_and_not_to_staff():
    far = at(NOW.date() + timedelta(days=20), "09:00")
    with pytest.raises(BookingWindowError):
        rules(horizon_days=10).check_bookable("short", "practice", far, NOW, staff=False)
    assert rules(horizon_days=10).check_bookable("short", "practice", far, NOW, staff=True)


def test_nobody_books_the_past():
    past = at(NOW.date() - timedelta(days=1), "09:00")
    for staff in (True, False):
        with pytest.raises(BookingWindowError):
            rules().check_bookable("short", "practice", past, NOW, staff=staff)


def test_staff_may_book_a_motif_closed_to_online_booking():
    slot = rules().check_bookable("offline", "practice", at(TUESDAY, "10:00"), NOW, staff=True)
    assert slot.ends_at - slot.starts_at == timedelta(minutes=60)


def test_staff_still_need_an_offered_slot():
    with pytest.raises(SlotNotOfferedError):
        rules().check_bookable("short", "practice", at(TUESDAY, "13:00"), NOW, staff=True)


def test_offsets_other_than_utc_name_the_same_instant():
    local = at(TUESDAY, "09:40").astimezone(rules().zone)
    assert rules().check_bookable("long", "practice", local, NOW, staff=False).starts_at == at(
        TUESDAY, "09:40"
    )
