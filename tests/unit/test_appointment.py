"""Appointment: given / when / then on the aggregate alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consulta.aggregates.appointment import CANCELLED, HONOURED, MISSED, Appointment
from consulta.aggregates.errors import (
    AppointmentClosedError,
    CancellationTooLateError,
    InvalidInputError,
    TooEarlyError,
)

START = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
BEFORE = START - timedelta(days=1)
CUTOFF = timedelta(hours=4)
PATIENT, DOCTOR = uuid4(), uuid4()


def booked() -> Appointment:
    return Appointment(
        id=uuid4(),
        practitioner_id=uuid4(),
        profile_id=uuid4(),
        motif_id="short",
        starts_at=START,
        ends_at=START + timedelta(minutes=20),
        mode="practice",
        by=PATIENT,
        by_role="patient",
    )


def test_booked_records_who_booked():
    appointment = booked()
    assert (appointment.status, appointment.booked_by, appointment.booked_by_role) == (
        "booked",
        PATIENT,
        "patient",
    )
    assert appointment.is_active


def test_patient_cancels_before_the_cutoff_without_a_reason():
    appointment = booked()
    appointment.cancel(PATIENT, "patient", "  ", START - CUTOFF, CUTOFF)
    assert appointment.status == CANCELLED and not appointment.is_active
    assert appointment.collect_events()[-1].by_role == "patient"


def test_patient_cannot_cancel_after_the_cutoff():
    appointment = booked()
    with pytest.raises(CancellationTooLateError):
        appointment.cancel(PATIENT, "patient", "", START - CUTOFF + timedelta(seconds=1), CUTOFF)
    assert appointment.is_active


def test_practitioner_cancels_late_but_must_give_a_reason():
    appointment = booked()
    with pytest.raises(InvalidInputError):
        appointment.cancel(DOCTOR, "practitioner", " ", START - timedelta(minutes=5), None)
    appointment.cancel(DOCTOR, "practitioner", "ill", START - timedelta(minutes=5), None)
    assert (appointment.status, appointment.closed_reason) == (CANCELLED, "ill")


def test_overlong_reason_is_refused():
    with pytest.raises(InvalidInputError):
        booked().cancel(DOCTOR, "practitioner", "x" * 501, BEFORE, None)


@pytest.mark.parametrize("close", ["cancel", "honoured", "missed"])
def test_a_closed_appointment_refuses_every_change(close):
    appointment = booked()
    after = START + timedelta(minutes=1)
    if close == "cancel":
        appointment.cancel(DOCTOR, "practitioner", "ill", BEFORE, None)
    elif close == "honoured":
        appointment.mark_honoured(DOCTOR, "practitioner", after)
    else:
        appointment.mark_missed(DOCTOR, "practitioner", after)
    with pytest.raises(AppointmentClosedError):
        appointment.cancel(DOCTOR, "practitioner", "again", after, None)
    with pytest.raises(AppointmentClosedError):
        appointment.reschedule(DOCTOR, "practitioner", START, START, "video", BEFORE, None)
    with pytest.raises(AppointmentClosedError):
        appointment.mark_honoured(DOCTOR, "practitioner", after)


def test_reschedule_moves_the_times_and_keeps_the_previous_start():
    appointment, later = booked(), START + timedelta(days=1)
    appointment.reschedule(PATIENT, "patient", later, later + timedelta(minutes=20), "video", BEFORE, CUTOFF)
    assert (appointment.starts_at, appointment.mode) == (later, "video")
    assert appointment.collect_events()[-1].previous_starts_at == START


def test_patient_cannot_reschedule_after_the_cutoff():
    with pytest.raises(CancellationTooLateError):
        booked().reschedule(PATIENT, "patient", START, START, "practice", START - timedelta(hours=1), CUTOFF)


def test_honoured_and_missed_only_once_started():
    appointment = booked()
    with pytest.raises(TooEarlyError):
        appointment.mark_honoured(DOCTOR, "practitioner", START - timedelta(seconds=1))
    with pytest.raises(TooEarlyError):
        appointment.mark_missed(DOCTOR, "practitioner", START - timedelta(seconds=1))
    appointment.mark_honoured(DOCTOR, "practitioner", START)
    assert appointment.status == HONOURED


def test_missed_after_the_start():
    appointment = booked()
    appointment.mark_missed(DOCTOR, "practitioner", START + timedelta(hours=1))
    assert appointment.status == MISSED
