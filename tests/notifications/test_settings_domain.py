"""NotificationPreferences in memory: any run of choices replays to the same state; bad zones change nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consulta.aggregates.errors import InvalidInputError
from consulta.aggregates.notification_settings import NotificationPreferences
from tests.unit.helpers import memory_app

ZONES = ["", "Europe/Paris", "America/Martinique", "Pacific/Noumea", "Indian/Reunion"]
BAD = ["Mars/Olympus", "../../etc/passwd", "x" * 70, "UTC+2", "europe/paris"]
choice = st.one_of(
    st.tuples(st.just("channels"), st.booleans(), st.booleans()),
    st.tuples(st.just("zone"), st.sampled_from(ZONES + BAD)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(choice, max_size=12))
def test_any_run_of_choices_replays_to_the_state_it_left(run: list[tuple]) -> None:
    app = memory_app()  # the real application, in memory (no PostgreSQL)
    preferences = NotificationPreferences(account_id=uuid4())
    expected = {"email": True, "sms": True, "zone": ""}
    changes = 0  # a choice that changes nothing records no event
    for step in run:
        if step[0] == "channels":
            preferences.choose(step[1], step[2])
            changes += (expected["email"], expected["sms"]) != (step[1], step[2])
            expected.update(email=step[1], sms=step[2])
        elif step[1] in BAD:
            with pytest.raises(InvalidInputError):
                preferences.choose_zone(step[1])
        else:
            preferences.choose_zone(step[1])
            changes += expected["zone"] != step[1]
            expected["zone"] = step[1]
    app.save(preferences)
    loaded = app.repository.get(preferences.id)
    assert {"email": loaded.email, "sms": loaded.sms, "zone": loaded.zone} == expected
    assert loaded.version == 1 + changes
