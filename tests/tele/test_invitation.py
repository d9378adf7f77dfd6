"""The invitation reaches the patient's account by e-mail (the dev inbox in test), once, with the code and link."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from consulta.services import Services
from consulta.tele_invitation import deliver_invitation
from tests.tele.helpers import video_consultation


def inbox(services: Services, recipient: str) -> list[tuple[str, str]]:
    table = sql.Identifier(services.settings.read_schema, "dev_inbox")
    with psycopg.connect(services.settings.database_url) as conn:
        query = sql.SQL("SELECT subject, body FROM {} WHERE recipient = %s").format(table)
        return [(str(s), str(b)) for s, b in conn.execute(query, (recipient,)).fetchall()]


def test_the_invitation_is_e_mailed_once_with_its_code_and_link(services: Services, now: datetime) -> None:
    scene = video_consultation(services.app, now)
    email = services.app.get_account(scene.patient.account_id).email
    link = f"http://127.0.0.1:8000/tele/invite/{scene.invitation.link_token}"
    assert deliver_invitation(services, scene.invitation, link)
    assert deliver_invitation(services, scene.invitation, link)  # a retry sends nothing twice
    ((subject, body),) = inbox(services, email)
    assert scene.invitation.code in body and link in body and "112" in body
    assert "téléconsultation" in subject.lower()
