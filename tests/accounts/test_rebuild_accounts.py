"""The account read models rebuilt from the event log equal the live ones, row for row."""

from __future__ import annotations

from datetime import date

from consulta.database import rebuild
from consulta.projections import PROJECTIONS
from tests.integration.test_rebuild import snapshot

OURS = ("accounts", "secretaries", "practitioner_details", "profiles")


def test_account_read_models_rebuild_row_for_row(services, settings, world, now) -> None:  # type: ignore[no-untyped-def]
    app = services.app
    x = world.practitioner_x
    app.describe_practitioner(x.actor, x.practitioner_id, {"name": "Dr Xavier Morel", "specialty": "GP",
                              "city": "Lyon", "rpps": "10101010101", "languages": ["fr"], "video_offered": True})  # fmt: skip
    app.mark_message_done(x.actor, world.message_id, now)
    app.choose_language(world.patient_a.actor.account_id, "en")
    profile = app.create_practice_profile(world.secretary_x.actor, x.practitioner_id, "Zoé", "Phone",
                                          date(1970, 1, 1), "0600000000", "", now)  # fmt: skip
    app.set_contact(world.secretary_x.actor, profile.id, "0600000001", "", x.practitioner_id)
    head = app.recorder.max_notification_id() or 0
    assert services.wait_for(head, tuple(PROJECTIONS))
    live = snapshot(settings)
    for table in ("accounts.accounts", "secretaries.secretary_grants", "secretaries.practitioner_messages",
                  "secretaries.profile_contacts", "secretaries.practice_profiles",
                  "practitioner_details.practitioner_details"):  # fmt: skip
        assert live[table], table  # the scenario left rows of every kind
    for name in OURS:
        assert rebuild(settings, name) > 0
    rebuilt = snapshot(settings)
    for table, rows in live.items():
        if table.split(".")[0] in OURS:
            assert rebuilt[table] == rows, table
