"""The invitation reaches the patient once: by e-mail (code and link) and by SMS (code only, never at night)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg import sql

from consulta.services import Services
from consulta.tele_invitation import deliver_invitation
from tests.tele.helpers import Scene, video_consultation

NOON_IN_PARIS = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
NIGHT_IN_PARIS = datetime(2026, 6, 2, 21, 30, tzinfo=UTC)  # 23:30 in Paris


def inbox(services: Services, recipient: str) -> list[tuple[str, str, str]]:
    table = sql.Identifier(services.settings.read_schema, "dev_inbox")
    with psycopg.connect(services.settings.database_url) as conn:
        query = sql.SQL("SELECT channel, subject, body FROM {} WHERE recipient = %s ORDER BY id").format(
            table
        )
        return [(str(c), str(s), str(b)) for c, s, b in conn.execute(query, (recipient,)).fetchall()]


def with_phone(services: Services, scene: Scene, phone: str) -> None:
    profile = services.app.get_profile(scene.profile_id)
    profile.set_contact(phone, "", scene.patient.account_id)
    services.app.save(profile)


def test_the_invitation_is_sent_once_by_e_mail_and_sms(services: Services, now: datetime) -> None:
    scene = video_consultation(services.app, now)
    phone = "+3361234" + now.strftime("%H%M%S")[-4:]
    with_phone(services, scene, phone)
    email = services.app.get_account(scene.patient.account_id).email
    link = f"http://127.0.0.1:8000/tele/invite/{scene.invitation.link_token}"
    assert deliver_invitation(services, scene.invitation, link, NOON_IN_PARIS) == {"email": True, "sms": True}
    deliver_invitation(services, scene.invitation, link, NOON_IN_PARIS)  # a retry sends nothing twice
    ((channel, subject, body),) = inbox(services, email)
    assert channel == "email" and "téléconsultation" in subject.lower()
    assert scene.invitation.code in body and link in body and "112" in body
    ((channel, _, text),) = inbox(services, phone)
    assert channel == "sms" and scene.invitation.code in text and scene.invitation.link_token not in text


def test_no_sms_at_night(services: Services, now: datetime) -> None:
    scene = video_consultation(services.app, now)
    phone = "+3369876" + now.strftime("%H%M%S")[-4:]
    with_phone(services, scene, phone)
    link = f"http://127.0.0.1:8000/tele/invite/{scene.invitation.link_token}"
    assert deliver_invitation(services, scene.invitation, link, NIGHT_IN_PARIS) == {
        "email": True,
        "sms": False,
    }
    assert inbox(services, phone) == []
