"""The booking state machine against the real PostgreSQL event store (fewer, shorter runs).

Reloading from Postgres goes through the JSON transcoder: a date stored as
a datetime, a tuple come back as a list, a UUID as a string would all make
the reloaded aggregate differ from the live one.
"""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test

from tests.unit.booking_machine import BookingMachine


def test_booking_machine_on_postgres(settings):
    class OnPostgres(BookingMachine):
        env = {**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}

    run_state_machine_as_test(
        OnPostgres,
        settings=hypothesis_settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
