"""The booking state machine in memory: many random sequences, the invariants after every step."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.unit.booking_machine import BookingMachine

BookingMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestBookingInMemory = BookingMachine.TestCase
