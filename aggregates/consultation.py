"""A teleconsultation: from scheduling to its outcome, with who acted and when.

The patient reaches it with a single-use invitation link or an access code
(only their digests are recorded here, never the secrets); they confirm their
identity and consent, wait, and are admitted by the practitioner. Each join
and leave of each side is recorded, so a reload or a network drop shows up as
a leave followed by a join of the same side.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidInputError

SCHEDULED, WAITING, ADMITTED, ENDED = "scheduled", "waiting", "admitted", "ended"
OUTCOMES = ("honoured", "missed", "phone", "in_person")
SIDES = ("patient", "practitioner")
CODE_EARLY = timedelta(minutes=15)  # the access code opens 15 minutes before the start
MAX_IDENTITY_FAILURES = 5
CONSENT_VERSION = "2026-11"


class ConsultationClosedError(DomainError):
    code = "consultation_closed"


class ConsultationAccessError(DomainError):
    """A link already used, a code outside its window or locked, an identity that does not match."""

    code = "consultation_access"


class Consultation(Aggregate):
    TOPIC = "consulta.Consultation"

    class Created(Aggregate.Created):
        TOPIC = "consulta.Consultation.Created"

    @event("Scheduled", topic="consulta.Consultation.Scheduled")
    def __init__(
        self,
        practitioner_id: UUID,
        profile_id: UUID,
        appointment_id: UUID | None,
        starts_at: datetime,
        ends_at: datetime,
        by: UUID,
        at: datetime,
    ) -> None:
        self.practitioner_id = practitioner_id
        self.profile_id = profile_id
        self.appointment_id = appointment_id
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.status = SCHEDULED
        self.code_digest: str | None = None
        self.link_digest: str | None = None
        self.link_used = False
        self.identity_failures = 0
        self.checked_in_at: datetime | None = None
        self.consented_at: datetime | None = None
        self.admitted_at: datetime | None = None
        self.present: dict[str, bool] = {"patient": False, "practitioner": False}
        self.outcome: str | None = None

    # -- invitation and access -------------------------------------------

    def invite(
        self, code_digest: str, link_digest: str, by: UUID, now: datetime, sealed: str | None = None
    ) -> None:
        """`sealed`: the code and link sealed for the notification worker (consulta.invitation_seal)."""
        self._require_open()
        self._invited(code_digest, link_digest, by, now, sealed)

    # `sealed` came later: older Invited events have none (and were sent directly, outside the pipeline).
    @event("Invited", topic="consulta.Consultation.Invited")
    def _invited(
        self, code_digest: str, link_digest: str, by: UUID, at: datetime, sealed: str | None = None
    ) -> None:
        self.code_digest = code_digest
        self.link_digest = link_digest
        self.link_used = False

    def use_link(self, link_digest: str, now: datetime) -> None:
        self._require_open()
        if self.link_used or link_digest != self.link_digest:
            raise ConsultationAccessError("this invitation link was already used")
        if now > self.ends_at:
            raise ConsultationAccessError("this consultation is over")
        self._link_used(now)

    @event("LinkUsed", topic="consulta.Consultation.LinkUsed")
    def _link_used(self, at: datetime) -> None:
        self.link_used = True

    @property
    def code_locked(self) -> bool:
        return self.identity_failures >= MAX_IDENTITY_FAILURES

    def check_code(self, code_digest: str, now: datetime) -> None:
        """The code opens 15 minutes before the start, closes at the end, and locks after 5 failures."""
        self._require_open()
        if code_digest != self.code_digest or self.code_locked:
            raise ConsultationAccessError("this code is not valid")
        if not (self.starts_at - CODE_EARLY <= now <= self.ends_at):
            raise ConsultationAccessError("this code is valid from 15 minutes before the appointment")

    # -- patient side ----------------------------------------------------

    def check_in(self, identity_matches: bool, now: datetime) -> None:
        """`identity_matches`: name and birth date compared with the profile by the command."""
        self._require_open()
        if self.code_locked:
            raise ConsultationAccessError("too many attempts: call the practice")
        if not identity_matches:
            self._identity_refused(now)
            return
        self._checked_in(now)

    @event("IdentityRefused", topic="consulta.Consultation.IdentityRefused")
    def _identity_refused(self, at: datetime) -> None:
        self.identity_failures += 1

    @event("CheckedIn", topic="consulta.Consultation.CheckedIn")
    def _checked_in(self, at: datetime) -> None:
        self.checked_in_at = at
        if self.status == SCHEDULED:
            self.status = WAITING

    def record_consent(self, now: datetime) -> None:
        self._require_open()
        if self.checked_in_at is None:
            raise InvalidInputError("confirm your identity first")
        if self.consented_at is None:
            self._consented(CONSENT_VERSION, now)

    @event("ConsentRecorded", topic="consulta.Consultation.ConsentRecorded")
    def _consented(self, version: str, at: datetime) -> None:
        self.consented_at = at

    @property
    def ready(self) -> bool:
        """Identity confirmed and consent given: the patient is in the waiting room."""
        return self.checked_in_at is not None and self.consented_at is not None

    # -- practitioner side and the call ----------------------------------

    def admit(self, by: UUID, now: datetime) -> None:
        self._require_open()
        if not self.ready:
            raise InvalidInputError("the patient is not in the waiting room")
        if self.status != ADMITTED:
            self._admitted(by, now)

    @event("Admitted", topic="consulta.Consultation.Admitted")
    def _admitted(self, by: UUID, at: datetime) -> None:
        self.status = ADMITTED
        self.admitted_at = at

    def join(self, side: str, participant: UUID, now: datetime) -> None:
        self._require_open()
        if side not in SIDES:
            raise InvalidInputError("unknown side")
        if side == "patient" and self.status != ADMITTED:
            raise ConsultationAccessError("wait to be admitted")
        self._joined(side, participant, now)

    @event("Joined", topic="consulta.Consultation.Joined")
    def _joined(self, side: str, participant: UUID, at: datetime) -> None:
        self.present[side] = True

    def leave(self, side: str, participant: UUID, now: datetime) -> None:
        if side not in SIDES:
            raise InvalidInputError("unknown side")
        if self.present.get(side):
            self._left(side, participant, now)

    @event("Left", topic="consulta.Consultation.Left")
    def _left(self, side: str, participant: UUID, at: datetime) -> None:
        self.present[side] = False

    def end(self, outcome: str, by: UUID, now: datetime) -> None:
        self._require_open()
        if outcome not in OUTCOMES:
            raise InvalidInputError("unknown outcome")
        if outcome == "honoured" and self.admitted_at is None:
            raise InvalidInputError("a consultation is honoured once the patient was admitted")
        self._ended(outcome, by, now)

    @event("Ended", topic="consulta.Consultation.Ended")
    def _ended(self, outcome: str, by: UUID, at: datetime) -> None:
        self.status = ENDED
        self.outcome = outcome
        self.present = {"patient": False, "practitioner": False}

    def _require_open(self) -> None:
        if self.status == ENDED:
            raise ConsultationClosedError("this consultation has ended")


class ConsultationKey(Aggregate):
    """Finds a consultation from the digest of its code or link: one per digest, so keys never collide."""

    TOPIC = "consulta.ConsultationKey"

    class Created(Aggregate.Created):
        TOPIC = "consulta.ConsultationKey.Created"

    @staticmethod
    def id_for(digest: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/consultation-keys/{digest}")

    @classmethod
    def create_id(cls, digest: str, consultation_id: UUID) -> UUID:
        return cls.id_for(digest)

    @event("Issued", topic="consulta.ConsultationKey.Issued")
    def __init__(self, digest: str, consultation_id: UUID) -> None:
        self.consultation_id = consultation_id
