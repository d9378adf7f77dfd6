"""The Consultation story through the commands (in memory): access, identity, consent, admission, outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from consulta.aggregates.consultation import ConsultationAccessError, ConsultationClosedError
from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.application import Consulta
from consulta.teleconsultation import CODE_ALPHABET, normalise_code
from tests.tele.helpers import Scene, video_consultation
from tests.unit.helpers import NOW, POPO

BIRTH = date(1985, 5, 17)  # tests.factories.make_patient's birth date


@pytest.fixture
def app() -> Iterator[Consulta]:
    app = Consulta(env=POPO)
    yield app
    app.close()


@pytest.fixture
def scene(app: Consulta) -> Scene:
    return video_consultation(app, NOW)


def test_the_code_has_fifty_random_bits_and_forgives_case_and_dashes(scene: Scene) -> None:
    code = scene.invitation.code
    assert len(normalise_code(code)) == 10 and len(CODE_ALPHABET) == 32  # 32**10 = 2**50
    assert normalise_code(code.lower().replace("-", " ")) == normalise_code(code)


def test_the_code_opens_fifteen_minutes_before_and_closes_at_the_end(app: Consulta, scene: Scene) -> None:
    code, start = scene.invitation.code, scene.starts_at
    with pytest.raises(ConsultationAccessError):
        app.find_by_code(code, start - timedelta(minutes=16))
    assert app.find_by_code(code, start - timedelta(minutes=15)) == scene.invitation.consultation_id
    with pytest.raises(ConsultationAccessError):
        app.find_by_code(code, start + timedelta(minutes=21))  # the consult motif lasts 20 minutes
    with pytest.raises(ConsultationAccessError):
        app.find_by_code("AAAAA-AAAAA", start)


def test_the_link_works_once(app: Consulta, scene: Scene) -> None:
    app.use_invitation_link(scene.invitation.link_token, NOW)
    with pytest.raises(ConsultationAccessError):
        app.use_invitation_link(scene.invitation.link_token, NOW)
    with pytest.raises(ConsultationAccessError):
        app.use_invitation_link("forged-token", NOW)


def test_five_wrong_identities_lock_the_code(app: Consulta, scene: Scene) -> None:
    cid, start = scene.invitation.consultation_id, scene.starts_at
    for _ in range(5):
        with pytest.raises(ConsultationAccessError):
            app.check_in(cid, "Alice", "Durand", date(1990, 1, 1), start)
    with pytest.raises(ConsultationAccessError):
        app.find_by_code(scene.invitation.code, start)
    with pytest.raises(ConsultationAccessError):
        app.check_in(cid, "Alice", "Durand", BIRTH, start)  # even the right identity, now


def test_the_whole_story_is_recorded_with_who_and_when(app: Consulta, scene: Scene) -> None:
    cid, start = scene.invitation.consultation_id, scene.starts_at
    with pytest.raises(InvalidInputError):
        app.admit(scene.staff, cid, start)  # nobody in the waiting room yet
    app.check_in(cid, " alice ", "DURAND", BIRTH, start - timedelta(minutes=5))
    app.record_consent(cid, start - timedelta(minutes=4))
    with pytest.raises(ConsultationAccessError):
        app.record_presence(cid, "patient", scene.profile_id, True, start)  # not admitted yet
    app.admit(scene.staff, cid, start)
    app.record_presence(cid, "practitioner", scene.staff.account_id, True, start)
    app.record_presence(cid, "patient", scene.profile_id, True, start + timedelta(seconds=5))
    app.record_presence(cid, "patient", scene.profile_id, False, start + timedelta(minutes=1))  # a reload
    app.record_presence(cid, "patient", scene.profile_id, True, start + timedelta(minutes=1, seconds=3))
    app.end_consultation(scene.staff, cid, "honoured", start + timedelta(minutes=15))
    names = [type(e).__name__ for e in app.repository.event_store.get(cid)]
    assert names == [
        "Scheduled", "Invited", "CheckedIn", "ConsentRecorded", "Admitted",
        "Joined", "Joined", "Left", "Joined", "Ended",
    ]  # fmt: skip
    ended = list(app.repository.event_store.get(cid))[-1]
    assert (ended.outcome, ended.by, ended.at) == (
        "honoured",
        scene.staff.account_id,
        start + timedelta(minutes=15),
    )
    with pytest.raises(ConsultationClosedError):
        app.admit(scene.staff, cid, start)


def test_only_the_practitioner_admits_and_ends(app: Consulta, scene: Scene) -> None:
    cid = scene.invitation.consultation_id
    other = video_consultation(app, NOW, "Bruno", "Garcia")
    for actor in (scene.patient, other.staff):
        with pytest.raises(ForbiddenError):
            app.end_consultation(actor, cid, "missed", scene.starts_at)
    app.end_consultation(scene.staff, cid, "missed", scene.starts_at)


@pytest.mark.parametrize("outcome", ["phone", "in_person"])
def test_switching_to_phone_or_visit_ends_the_consultation(app: Consulta, scene: Scene, outcome: str) -> None:
    cid = scene.invitation.consultation_id
    with pytest.raises(InvalidInputError):
        app.end_consultation(scene.staff, cid, "honoured", scene.starts_at)  # never admitted
    app.end_consultation(scene.staff, cid, outcome, scene.starts_at)
    assert app.get_consultation(cid).outcome == outcome


def test_only_a_video_appointment_or_a_known_patient_opens_one(app: Consulta, scene: Scene) -> None:
    with pytest.raises(ForbiddenError):
        app.open_consultation(
            scene.staff, NOW, profile_id=scene.profile_id
        )  # never seen: not a known patient
    with pytest.raises(ForbiddenError):
        app.open_consultation(scene.patient, NOW, appointment_id=scene.appointment_id)
