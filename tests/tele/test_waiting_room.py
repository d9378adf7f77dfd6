"""The waiting-room read model in PostgreSQL: who waits and since when, wait time and call duration."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from consulta.projections.waiting_room import WaitingRoomQueries
from consulta.services import Services
from tests.tele.helpers import video_consultation


def test_the_waiting_room_follows_the_consultation(services: Services, now: datetime) -> None:
    app, rooms = services.app, WaitingRoomQueries(services.reads)
    scene = video_consultation(app, now)
    other = video_consultation(app, now, "Bruno", "Garcia")
    cid, start = scene.invitation.consultation_id, scene.starts_at
    assert services.wait_for(other.position, ("waiting_room",))
    (row,) = rooms.for_practitioner(scene.practitioner_id)
    assert (row["status"], row["checked_in_at"], row["first_name"]) == ("scheduled", None, "Alice")

    app.check_in(cid, "Alice", "Durand", date(1985, 5, 17), start - timedelta(minutes=6))
    waiting = app.record_consent(cid, start - timedelta(minutes=5))
    assert services.wait_for(waiting.position, ("waiting_room",))
    (row,) = rooms.for_practitioner(scene.practitioner_id)
    assert row["status"] == "waiting" and row["consented_at"] == start - timedelta(minutes=5)

    app.admit(scene.staff, cid, start)
    app.record_presence(cid, "practitioner", scene.staff.account_id, True, start)
    app.record_presence(cid, "patient", scene.profile_id, True, start + timedelta(seconds=4))
    app.record_presence(cid, "patient", scene.profile_id, False, start + timedelta(seconds=30))
    app.record_presence(cid, "patient", scene.profile_id, True, start + timedelta(seconds=34))
    ended = app.end_consultation(scene.staff, cid, "honoured", start + timedelta(minutes=12, seconds=4))
    assert services.wait_for(ended.position, ("waiting_room",))
    row = rooms.one(cid)
    assert row is not None
    assert (row["status"], row["outcome"], row["patient_joins"]) == ("ended", "honoured", 2)
    assert row["wait_seconds"] == 6 * 60 and row["call_seconds"] == 12 * 60
    assert rooms.for_practitioner(scene.practitioner_id) == []  # an ended consultation leaves the list
    assert [r["consultation_id"] for r in rooms.for_practitioner(other.practitioner_id)] == [
        other.invitation.consultation_id
    ]
