"""Practitioner and the rules it accepts: given / when / then."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consulta.aggregates.errors import InvalidInputError
from consulta.aggregates.practitioner import Practitioner

HOURS = [{"weekday": 0, "start": "09:00", "end": "12:00", "place": "practice"}]
VIDEO_HOURS = [*HOURS, {"weekday": 0, "start": "14:00", "end": "16:00", "place": "video"}]
SHORT = {"id": "short", "name": "Short", "duration_minutes": 20, "modes": ["practice", "video"]}


def registered(timezone: str = "Europe/Paris") -> Practitioner:
    return Practitioner.register(uuid4(), "Dr Test", "GP", "Lyon", timezone=timezone)


def test_registration_trims_and_requires_names():
    assert registered().name == "Dr Test"
    with pytest.raises(InvalidInputError):
        Practitioner.register(uuid4(), "  ", "GP", "Lyon")
    with pytest.raises(InvalidInputError):
        Practitioner.register(uuid4(), "Dr Test", "GP", "Lyon", timezone="Mars/Olympus")


@pytest.mark.parametrize(
    "second",
    [
        {"weekday": 0, "start": "11:00", "end": "13:00", "place": "video"},
        {"weekday": 0, "start": "08:00", "end": "09:30", "place": "practice"},
        {"weekday": 0, "start": "09:00", "end": "12:00", "place": "practice"},
    ],
)
def test_overlapping_opening_ranges_of_one_day_are_refused(second):
    practitioner = registered()
    with pytest.raises(InvalidInputError):
        practitioner.set_opening_hours([*HOURS, second])
    assert practitioner.hours == []


def test_touching_ranges_and_other_days_are_accepted():
    practitioner = registered()
    practitioner.set_opening_hours(
        [
            *HOURS,
            {"weekday": 0, "start": "12:00", "end": "13:00", "place": "video"},
            {"weekday": 1, "start": "09:00", "end": "12:00", "place": "video"},
        ]
    )
    assert len(practitioner.hours) == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"weekday": 7, "start": "09:00", "end": "10:00", "place": "practice"},
        {"weekday": 0, "start": "10:00", "end": "09:00", "place": "practice"},
        {"weekday": 0, "start": "25:00", "end": "26:00", "place": "practice"},
        {"weekday": 0, "start": "09:00", "end": "10:00", "place": "home"},
    ],
)
def test_malformed_opening_ranges_are_refused(bad):
    with pytest.raises(InvalidInputError):
        registered().set_opening_hours([bad])


@pytest.mark.parametrize(
    "change",
    [
        {"duration_minutes": 0},
        {"duration_minutes": 7},
        {"duration_minutes": 245},
        {"modes": []},
        {"modes": ["home"]},
        {"name": " "},
        {"id": ""},
        {"id": "a b"},
        {"id": "x" * 65},
    ],
)
def test_invalid_motifs_are_refused(change):
    practitioner = registered()
    with pytest.raises(InvalidInputError):
        practitioner.save_motif({**SHORT, **change})
    assert practitioner.motifs == []


def test_saving_a_motif_again_replaces_it():
    practitioner = registered()
    practitioner.save_motif(SHORT)
    practitioner.save_motif({**SHORT, "duration_minutes": 25})
    assert [m["duration_minutes"] for m in practitioner.motifs] == [25]


def test_reserved_periods_must_name_known_motifs():
    practitioner = registered()
    practitioner.save_motif(SHORT)
    period = {"weekday": 0, "start": "09:00", "end": "10:00", "motif_ids": ["long"]}
    with pytest.raises(InvalidInputError):
        practitioner.set_reserved_periods([period])
    practitioner.set_reserved_periods([{**period, "motif_ids": ["short"]}])
    assert practitioner.rules.reserved[0].motif_ids == ("short",)


@pytest.mark.parametrize(
    "change",
    [
        {"min_notice_minutes": -1},
        {"horizon_days": 0},
        {"horizon_days": 400},
        {"video_daily_cap": -1},
        {"cancel_cutoff_minutes": -5},
        {"timezone": "Nowhere/City"},
    ],
)
def test_invalid_policies_are_refused(change):
    practitioner = registered()
    with pytest.raises(InvalidInputError):
        practitioner.set_policy(**change)


def test_policy_changes_merge():
    practitioner = registered()
    practitioner.set_policy(min_notice_minutes=30)
    practitioner.set_policy(video_daily_cap=3)
    assert (practitioner.rules.policy.min_notice_minutes, practitioner.rules.policy.video_daily_cap) == (
        30,
        3,
    )


def test_time_zone_is_set_before_opening_and_then_fixed():
    """Bug fixed: agenda days are keyed by local date; moving the zone let bookings overlap."""
    practitioner = registered()
    practitioner.set_policy(timezone="America/New_York")
    practitioner.set_opening_hours(HOURS)
    practitioner.set_policy(timezone="America/New_York", min_notice_minutes=10)
    with pytest.raises(InvalidInputError):
        practitioner.set_policy(timezone="Europe/Paris")
    assert practitioner.rules.policy.timezone == "America/New_York"


def test_offers_video_needs_video_hours_and_an_online_video_motif():
    """Bug fixed: a video motif closed to online booking made the practitioner show as 'video'."""
    practitioner = registered()
    practitioner.set_opening_hours(VIDEO_HOURS)
    practitioner.save_motif({**SHORT, "online": False})
    assert not practitioner.offers_video
    practitioner.save_motif({**SHORT, "id": "video", "online": True})
    assert practitioner.offers_video
    practitioner.set_policy(video_daily_cap=0)
    assert not practitioner.offers_video


def test_no_video_hours_no_video():
    practitioner = registered()
    practitioner.set_opening_hours(HOURS)
    practitioner.save_motif(SHORT)
    assert not practitioner.offers_video
