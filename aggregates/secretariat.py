"""Tele-secretaries: the grants practitioners give them, and the messages they leave.

A `Grant` is one per (practitioner, secretary account), deterministic id: a
practitioner grants, revokes and may grant again. Every secretary command
loads it, so a revocation takes effect on the secretary's next request,
whatever their session says.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInputError


class Grant(Aggregate):
    TOPIC = "consulta.SecretaryGrant"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.SecretaryGrant.Created"

    @staticmethod
    def id_for(practitioner_id: UUID, secretary_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/secretary-grants/{practitioner_id}/{secretary_id}")

    @classmethod
    def create_id(cls, practitioner_id: UUID, secretary_id: UUID, by: UUID) -> UUID:  # eventsourcing hook
        return cls.id_for(practitioner_id, secretary_id)

    @event("Granted", topic="consulta.SecretaryGrant.Granted")
    def __init__(self, practitioner_id: UUID, secretary_id: UUID, by: UUID) -> None:
        self.practitioner_id = practitioner_id
        self.secretary_id = secretary_id
        self.active = True

    def revoke(self, by: UUID) -> None:
        if self.active:
            self._revoked(by)

    @event("Revoked", topic="consulta.SecretaryGrant.Revoked")
    def _revoked(self, by: UUID) -> None:
        self.active = False

    def grant_again(self, by: UUID) -> None:
        if not self.active:
            self._granted_again(by)

    @event("GrantedAgain", topic="consulta.SecretaryGrant.GrantedAgain")
    def _granted_again(self, by: UUID) -> None:
        self.active = True


class PractitionerMessage(Aggregate):
    """A message a secretary leaves for a practitioner (the practitioner's inbox)."""

    TOPIC = "consulta.PractitionerMessage"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.PractitionerMessage.Created"

    @classmethod
    def leave(
        cls, practitioner_id: UUID, by: UUID, text: str, profile_id: UUID | None
    ) -> PractitionerMessage:
        text = text.strip()
        if not text or len(text) > 2000:
            raise InvalidInputError("a message has 1 to 2000 characters")
        return cls(practitioner_id=practitioner_id, by=by, text=text, profile_id=profile_id)

    @event("Left", topic="consulta.PractitionerMessage.Left")
    def __init__(self, practitioner_id: UUID, by: UUID, text: str, profile_id: UUID | None) -> None:
        self.practitioner_id = practitioner_id
        self.left_by = by
        self.text = text
        self.profile_id = profile_id
        self.done = False

    def mark_done(self, by: UUID) -> None:
        if not self.done:
            self._done(by)

    @event("Done", topic="consulta.PractitionerMessage.Done")
    def _done(self, by: UUID) -> None:
        self.done = True
