"""The sealed invitation: opens only with the web's key and for its own consultation; old Invited events still load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from consulta.aggregates.consultation import Consultation
from consulta.invitation_seal import SealError, open_sealed, seal
from consulta.projections import tele_invitations

NOW = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


def test_a_sealed_invitation_opens_with_the_same_secret_only() -> None:
    cid = uuid4()
    blob = seal("the-web-secret", cid, "ABCDE-12345", "link-token-xyz")
    assert "ABCDE" not in blob and "link-token" not in blob
    assert open_sealed("the-web-secret", cid, blob) == ("ABCDE-12345", "link-token-xyz")
    assert seal("the-web-secret", cid, "ABCDE-12345", "link-token-xyz") != blob  # a fresh nonce each time
    with pytest.raises(SealError, match="CONSULTA_SECRET_KEY differs"):
        open_sealed("another-secret", cid, blob)
    with pytest.raises(SealError, match="CONSULTA_SECRET_KEY differs"):
        open_sealed("the-web-secret", uuid4(), blob)  # moved to another consultation
    with pytest.raises(SealError, match="set CONSULTA_SECRET_KEY"):
        open_sealed("", cid, blob)
    with pytest.raises(SealError, match="damaged"):
        open_sealed("the-web-secret", cid, blob[:20])
    with pytest.raises(SealError, match="damaged"):
        open_sealed("the-web-secret", cid, "not base64 !")


def test_an_invited_event_stored_before_the_seal_existed_loads_and_writes_no_due_row() -> None:
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    consultation = Consultation(uuid4(), uuid4(), None, NOW, NOW + timedelta(minutes=30), uuid4(), NOW)
    consultation.invite("code-digest", "link-digest", uuid4(), NOW)
    app.save(consultation)
    stored = app.recorder.select_events(consultation.id)
    assert b'"sealed":null' in stored[1].state
    old = StoredEvent(
        originator_id=stored[1].originator_id,
        originator_version=stored[1].originator_version,
        topic=stored[1].topic,
        state=stored[1].state.replace(b',"sealed":null', b""),
    )
    assert old.topic == "consulta.Consultation.Invited"
    invited = app.mapper.to_domain_event(old)
    assert not hasattr(invited, "sealed")
    loaded = invited.mutate(app.mapper.to_domain_event(stored[0]).mutate(None))
    assert loaded.code_digest == "code-digest" and loaded.link_digest == "link-digest"

    class Writes:
        statements: list[str] = []

        def execute(self, cur: object, statement: str, params: object) -> None:
            self.statements.append(statement)

    assert tele_invitations.invited(Writes(), None, invited) is False  # type: ignore[arg-type]
    assert Writes.statements == []
