"""The application's commands in memory: booking, moving, closing, blocking."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment
from consulta.aggregates.errors import (
    BlockConflictError,
    BusyError,
    ForbiddenError,
    InvalidInputError,
    MotifNotBookableError,
    NotFoundError,
    SlotTakenError,
)
from consulta.application import SYSTEM, Consulta
from tests.unit.helpers import MOTIFS, NOW, POPO, add_patient, add_practitioner, at, memory_app

TUESDAY = NOW.date() + timedelta(days=1)


@pytest.fixture
def world():
    app = memory_app()
    practitioner_id, staff = add_practitioner(app)
    patient, profile_id = add_patient(app)
    return app, practitioner_id, staff, patient, profile_id


def day_of(app, practitioner_id, day=TUESDAY) -> AgendaDay:
    return app.repository.get(AgendaDay.id_for(practitioner_id, day))


def test_booking_places_the_appointment_on_its_day(world):
    app, practitioner_id, _, patient, profile_id = world
    outcome = app.book(patient, practitioner_id, "long", "practice", at(TUESDAY, "09:40"), profile_id, NOW)
    appointment = app.get_appointment(patient, outcome.id)
    assert (appointment.starts_at, appointment.ends_at) == (at(TUESDAY, "09:40"), at(TUESDAY, "10:20"))
    assert list(day_of(app, practitioner_id).appointments) == [str(outcome.id)]


def test_overlapping_booking_of_another_motif_is_refused(world):
    app, practitioner_id, _, patient, profile_id = world
    app.book(patient, practitioner_id, "long", "practice", at(TUESDAY, "09:40"), profile_id, NOW)
    with pytest.raises(SlotTakenError):
        app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "10:00"), profile_id, NOW)


def test_a_patient_cannot_book_for_a_profile_they_do_not_manage(world):
    app, practitioner_id, _, _, profile_id = world
    stranger, _ = add_patient(app)
    with pytest.raises(ForbiddenError):
        app.book(stranger, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)


def test_cancel_then_book_the_same_time_again(world):
    app, practitioner_id, _, patient, profile_id = world
    first = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.cancel(patient, first.id, "", NOW)
    second = app.book(patient, practitioner_id, "long", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    assert list(day_of(app, practitioner_id).appointments) == [str(second.id)]
    assert not app.get_appointment(patient, first.id).is_active


def test_reschedule_within_the_same_day_even_overlapping_itself(world):
    app, practitioner_id, _, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "long", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.reschedule(patient, booked.id, at(TUESDAY, "09:40"), NOW)
    day = day_of(app, practitioner_id)
    assert day.appointments == {str(booked.id): [at(TUESDAY, "09:40"), at(TUESDAY, "10:20"), "practice"]}


def test_reschedule_to_another_day_moves_it_between_days(world):
    app, practitioner_id, _, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    wednesday = TUESDAY + timedelta(days=1)
    app.reschedule(patient, booked.id, at(wednesday, "14:20"), NOW, mode="video")
    assert day_of(app, practitioner_id).appointments == {}
    assert day_of(app, practitioner_id, wednesday).appointments[str(booked.id)][2] == "video"


def test_reschedule_onto_a_taken_time_changes_nothing(world):
    app, practitioner_id, _, patient, profile_id = world
    mine = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.book(patient, practitioner_id, "long", "practice", at(TUESDAY, "10:20"), profile_id, NOW)
    with pytest.raises(SlotTakenError):
        app.reschedule(patient, mine.id, at(TUESDAY, "10:40"), NOW)
    assert app.get_appointment(patient, mine.id).starts_at == at(TUESDAY, "09:00")
    assert len(day_of(app, practitioner_id).appointments) == 2


def test_rescheduling_onto_ones_own_held_slot(world):
    """Bug fixed: the patient's own hold on the new time refused their reschedule."""
    app, practitioner_id, _, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.hold_slot(patient, practitioner_id, "short", "practice", at(TUESDAY, "11:00"), NOW, 5)
    app.reschedule(patient, booked.id, at(TUESDAY, "11:00"), NOW)
    assert app.get_appointment(patient, booked.id).starts_at == at(TUESDAY, "11:00")


def test_a_held_slot_is_booked_by_its_holder_only(world):
    app, practitioner_id, _, patient, profile_id = world
    other, other_profile = add_patient(app)
    hold = app.hold_slot(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), NOW, 5)
    with pytest.raises(SlotTakenError):
        app.book(
            other, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), other_profile, NOW, hold.id
        )
    app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW, hold.id)
    assert day_of(app, practitioner_id).holds == {}


def test_a_hold_replaced_by_its_owner_frees_the_first_slot(world):
    app, practitioner_id, _, patient, _ = world
    other, other_profile = add_patient(app)
    first = app.hold_slot(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), NOW, 5)
    app.hold_slot(
        patient, practitioner_id, "short", "practice", at(TUESDAY, "10:00"), NOW, 5, replaces=first.id
    )
    app.book(other, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), other_profile, NOW)


def test_an_abandoned_hold_frees_itself(world):
    app, practitioner_id, _, patient, _ = world
    other, other_profile = add_patient(app)
    app.hold_slot(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), NOW, 5)
    later = NOW + timedelta(minutes=5)
    app.book(other, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), other_profile, later)


def test_idempotent_book_returns_the_first_booking_and_records_nothing(world):
    app, practitioner_id, _, patient, profile_id = world
    key = uuid4()
    first = app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(TUESDAY, "09:00"),
        profile_id,
        NOW,
        appointment_id=key,
    )
    before = app.recorder.max_notification_id()
    again = app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(TUESDAY, "09:00"),
        profile_id,
        NOW,
        appointment_id=key,
    )
    assert (again.id, again.created, first.created) == (key, False, True)
    assert app.recorder.max_notification_id() == before


def test_idempotent_retry_is_answered_even_once_the_notice_has_run_out(world):
    """Bug fixed: the retry was checked against the rules again and refused."""
    app, practitioner_id, _, patient, profile_id = world
    key, start = uuid4(), at(TUESDAY, "09:00")
    app.book(patient, practitioner_id, "short", "practice", start, profile_id, NOW, appointment_id=key)
    late = start - timedelta(minutes=30)
    assert (
        app.book(
            patient, practitioner_id, "short", "practice", start, profile_id, late, appointment_id=key
        ).id
        == key
    )


def test_an_idempotency_key_reused_for_another_booking_is_refused(world):
    """Bug fixed: any booking with a used key answered with the first appointment."""
    app, practitioner_id, _, patient, profile_id = world
    key = uuid4()
    app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(TUESDAY, "09:00"),
        profile_id,
        NOW,
        appointment_id=key,
    )
    with pytest.raises(InvalidInputError):
        app.book(
            patient,
            practitioner_id,
            "short",
            "practice",
            at(TUESDAY, "10:00"),
            profile_id,
            NOW,
            appointment_id=key,
        )
    assert len(day_of(app, practitioner_id).appointments) == 1


def test_honoured_and_missed_are_the_practitioners_to_record(world):
    app, practitioner_id, staff, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    with pytest.raises(ForbiddenError):
        app.mark_missed(patient, booked.id, at(TUESDAY, "10:00"))
    app.mark_missed(staff, booked.id, at(TUESDAY, "10:00"))
    assert app.get_appointment(staff, booked.id).status == "missed"
    assert str(booked.id) in day_of(app, practitioner_id).appointments  # the time stays used


def test_motif_closed_to_new_patients_needs_an_honoured_visit_first(world):
    """Bug fixed: `new_patients: false` was stored and never enforced."""
    app = memory_app()
    motifs = [
        *MOTIFS,
        {
            "id": "followup",
            "name": "Follow-up",
            "duration_minutes": 20,
            "modes": ["practice"],
            "new_patients": False,
        },
    ]
    practitioner_id, staff = add_practitioner(app, motifs=motifs)
    patient, profile_id = add_patient(app)
    with pytest.raises(MotifNotBookableError):
        app.book(patient, practitioner_id, "followup", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    profile = app.get_profile(profile_id)
    named = (profile.last_name, profile.birth_date)  # new to the practice: staff name the patient
    first = app.book(
        staff, practitioner_id, "followup", "practice", at(TUESDAY, "09:00"), profile_id, NOW, named=named
    )
    app.mark_honoured(staff, first.id, at(TUESDAY, "09:05"))
    later = at(TUESDAY, "09:05")
    app.book(
        patient,
        practitioner_id,
        "followup",
        "practice",
        at(TUESDAY + timedelta(days=7), "09:00"),
        profile_id,
        later,
    )


def test_block_lists_the_appointments_inside_across_days_and_records_nothing(world):
    app, practitioner_id, staff, patient, profile_id = world
    wednesday = TUESDAY + timedelta(days=1)
    one = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "11:00"), profile_id, NOW)
    two = app.book(patient, practitioner_id, "short", "video", at(wednesday, "14:00"), profile_id, NOW)
    before = app.recorder.max_notification_id()
    with pytest.raises(BlockConflictError) as refused:
        app.block_period(staff, practitioner_id, at(TUESDAY, "10:00"), at(wednesday, "15:00"), NOW)
    assert sorted(refused.value.appointment_ids) == sorted([str(one.id), str(two.id)])
    assert app.recorder.max_notification_id() == before


def test_block_over_several_days_covers_each_day_and_lifts(world):
    app, practitioner_id, staff, patient, profile_id = world
    start, end = at(TUESDAY, "10:00"), at(TUESDAY + timedelta(days=2), "10:00")
    block = app.block_period(staff, practitioner_id, start, end, NOW)
    for offset, hhmm in ((0, "11:00"), (1, "09:00"), (2, "09:40")):
        with pytest.raises(SlotTakenError):
            app.book(
                patient,
                practitioner_id,
                "short",
                "practice",
                at(TUESDAY + timedelta(days=offset), hhmm),
                profile_id,
                NOW,
            )
    app.book(
        patient,
        practitioner_id,
        "short",
        "practice",
        at(TUESDAY + timedelta(days=2), "10:00"),
        profile_id,
        NOW,
    )
    app.lift_block(staff, practitioner_id, block.id, start, end)
    app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "11:00"), profile_id, NOW)


def test_patients_cannot_block(world):
    app, practitioner_id, _, patient, _ = world
    with pytest.raises(ForbiddenError):
        app.block_period(patient, practitioner_id, at(TUESDAY, "10:00"), at(TUESDAY, "11:00"), NOW)


def test_appointments_reload_equal_to_live(world):
    app, practitioner_id, _, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    loaded = app.repository.get(booked.id)
    assert isinstance(loaded, Appointment) and loaded.status == "booked"


def test_a_block_may_cover_honoured_appointments(world):
    """Bug fixed: an honoured appointment could not be cancelled, so its period could never be blocked."""
    app, practitioner_id, staff, patient, profile_id = world
    seen = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    waiting = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "11:00"), profile_id, NOW)
    later = at(TUESDAY, "09:30")
    app.mark_honoured(staff, seen.id, later)
    with pytest.raises(BlockConflictError) as refused:
        app.block_period(staff, practitioner_id, at(TUESDAY, "09:00"), at(TUESDAY, "12:00"), later)
    assert refused.value.appointment_ids == [str(waiting.id)]
    app.cancel(staff, waiting.id, "closed this afternoon", later)
    app.block_period(staff, practitioner_id, at(TUESDAY, "09:00"), at(TUESDAY, "12:00"), later)
    assert str(seen.id) in day_of(app, practitioner_id).appointments  # its time stays used


def test_rescheduling_to_where_it_already_is_records_nothing(world):
    app, practitioner_id, _, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.reschedule(patient, booked.id, at(TUESDAY, "10:00"), NOW)
    before = app.recorder.max_notification_id()
    again = app.reschedule(patient, booked.id, at(TUESDAY, "10:00"), NOW)
    assert (again.id, again.created) == (booked.id, False)
    assert app.recorder.max_notification_id() == before


def test_an_idempotency_key_reused_in_another_mode_is_refused(world):
    app, practitioner_id, _, patient, profile_id = world
    key, start = uuid4(), at(TUESDAY, "14:00")
    app.book(patient, practitioner_id, "short", "video", start, profile_id, NOW, appointment_id=key)
    app.cancel(patient, key, "", NOW)
    with pytest.raises(InvalidInputError):
        app.book(
            patient,
            practitioner_id,
            "short",
            "practice",
            at(TUESDAY, "09:00"),
            profile_id,
            NOW,
            appointment_id=key,
        )


class Contested(Consulta):
    """Another writer saves the same agenda day just before each of this app's saves."""

    name = "consulta"
    contest = False

    def save(self, *objs, **kwargs):
        for obj in objs:
            if isinstance(obj, AgendaDay) and self.contest:
                rival = self.repository.get(obj.id)
                rival.block(uuid4(), at(rival.day, "23:00"), at(rival.day, "23:10"))
                super().save(rival)
        return super().save(*objs, **kwargs)


def test_a_booking_that_keeps_losing_the_race_ends_busy_and_records_nothing():
    """Bug fixed: after the last lost race the store's IntegrityError escaped (a server error)."""
    app = Contested(env=POPO)
    practitioner_id, _ = add_practitioner(app)
    patient, profile_id = add_patient(app)
    # A block makes the day exist; from then on every save of it meets a rival.
    app.block_period(SYSTEM, practitioner_id, at(TUESDAY, "20:00"), at(TUESDAY, "20:10"), NOW)
    app.contest = True
    with pytest.raises(BusyError):
        app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    stored = app.recorder.select_notifications(1, 10_000)
    assert not any(n.topic.startswith("consulta.Appointment") for n in stored)
    assert day_of(app, practitioner_id).appointments == {}


def test_lifting_a_block_that_is_not_there_is_not_found(world):
    """Bug fixed: a wrong block id or period was silently accepted and recorded nothing."""
    app, practitioner_id, staff, _, _ = world
    start, end = at(TUESDAY, "10:00"), at(TUESDAY, "11:00")
    block = app.block_period(staff, practitioner_id, start, end, NOW)
    with pytest.raises(NotFoundError):
        app.lift_block(staff, practitioner_id, uuid4(), start, end)
    with pytest.raises(NotFoundError):
        app.lift_block(staff, practitioner_id, block.id, start + timedelta(days=1), end + timedelta(days=1))
    app.lift_block(staff, practitioner_id, block.id, start, end)
    assert day_of(app, practitioner_id).blocks == {}


def test_every_agenda_day_event_records_who_acted(world):
    app, practitioner_id, staff, patient, profile_id = world
    booked = app.book(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), profile_id, NOW)
    app.reschedule(staff, booked.id, at(TUESDAY, "10:00"), NOW)
    app.cancel(patient, booked.id, "", NOW)
    events = app.repository.event_store.get(AgendaDay.id_for(practitioner_id, TUESDAY))
    assert [(type(e).__name__, e.by, e.by_role) for e in list(events)[1:]] == [
        ("AppointmentPlaced", patient.account_id, "patient"),
        ("AppointmentReleased", staff.account_id, "practitioner"),
        ("AppointmentPlaced", staff.account_id, "practitioner"),
        ("AppointmentReleased", patient.account_id, "patient"),
    ]


@pytest.mark.parametrize("minutes", [0, -5, 61, 24 * 60])
def test_a_hold_lasts_a_few_minutes_only(world, minutes):
    app, practitioner_id, _, patient, _ = world
    with pytest.raises(InvalidInputError):
        app.hold_slot(patient, practitioner_id, "short", "practice", at(TUESDAY, "09:00"), NOW, minutes)
    with pytest.raises(AggregateNotFoundError):  # the day was never written
        day_of(app, practitioner_id)


def test_lifting_with_a_period_without_offsets_or_reversed_is_invalid(world):
    app, practitioner_id, staff, _, _ = world
    start, end = at(TUESDAY, "10:00"), at(TUESDAY, "11:00")
    block = app.block_period(staff, practitioner_id, start, end, NOW)
    for bad_start, bad_end in ((start.replace(tzinfo=None), end.replace(tzinfo=None)), (end, start)):
        with pytest.raises(InvalidInputError):
            app.lift_block(staff, practitioner_id, block.id, bad_start, bad_end)
    assert day_of(app, practitioner_id).blocks
