"""Teleconsultation commands, mixed into `Consulta` (application.py).

A practitioner opens a consultation (for a video appointment, or at any time
for a patient they already know); the command returns the invitation's
secrets once: an access code (50 bits from `secrets`, shown as XXXXX-XXXXX)
and a single-use link token (256 bits). Only their SHA-256 digests are
recorded, and a `ConsultationKey` per digest finds the consultation again.
The invitation reaches the patient through the notifications pipeline: the
caller passes `seal` (consulta.tele_invitation.invitation_sealer), and the
sealed secrets ride in `Invited` for the worker to open at send time.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.appointment import Appointment, KnownPatient
from consulta.aggregates.consultation import (
    SIDES,
    Consultation,
    ConsultationAccessError,
    ConsultationKey,
)
from consulta.aggregates.errors import ForbiddenError, InvalidInputError

if TYPE_CHECKING:
    from consulta.application import Actor, Outcome
    from consulta.application import Consulta as _Base  # type: ignore[attr-defined]  # a cycle mypy cannot follow
else:
    _Base = object

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: 10 characters = 50 bits
CODE_LENGTH = 10

# (consultation id, code, link token) -> the sealed blob recorded in Invited
Sealer = Callable[[UUID, str, str], str]


@dataclass(frozen=True)
class Invitation:
    """The secrets of an invitation, returned once and never recorded."""

    consultation_id: UUID
    code: str
    link_token: str
    position: int


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    text = (
        code.upper().replace("-", "").replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    )
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        raise ConsultationAccessError("this code is not valid")
    return text


def digest(kind: str, secret: str) -> str:
    return hashlib.sha256(f"consulta-{kind}:{secret}".encode()).hexdigest()


def _fold(name: str) -> str:
    """Names compare without case, accents, hyphens or extra spaces."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(text.replace("-", " ").split())


def _outcome(*args: Any, **kwargs: Any) -> Outcome:
    from consulta.application import Outcome

    return Outcome(*args, **kwargs)


class TeleconsultationCommands(_Base):
    def get_consultation(self, consultation_id: UUID) -> Consultation:
        return self._get(Consultation, consultation_id)

    def own_consultation(self, actor: Actor, consultation_id: UUID) -> Consultation:
        consultation = self.get_consultation(consultation_id)
        if not actor.may_manage_agenda(consultation.practitioner_id) or actor.role == "secretary":
            raise ForbiddenError("consultation not found")
        return consultation

    def is_known_patient(self, practitioner_id: UUID, profile_id: UUID) -> bool:
        """Seen once (an honoured appointment): a consultation may open now for them (the ad-hoc page)."""
        try:
            self.repository.get(KnownPatient.id_for(practitioner_id, profile_id))
        except AggregateNotFoundError:
            return False
        return True

    def open_consultation(
        self,
        actor: Actor,
        now: datetime,
        appointment_id: UUID | None = None,
        profile_id: UUID | None = None,
        minutes: int = 30,
        seal: Sealer | None = None,
    ) -> Invitation:
        """For a video appointment, or now for a known patient of the practitioner.

        With `seal`, the invitation is e-mailed and texted by the notifications
        pipeline; without it nothing is sent (the practitioner reads the code out).
        """
        if actor.role != "practitioner" or actor.practitioner_id is None:
            raise ForbiddenError("not found")
        if appointment_id is not None:
            appointment = self._get(Appointment, appointment_id)
            if appointment.practitioner_id != actor.practitioner_id:
                raise ForbiddenError("appointment not found")
            if appointment.mode != "video" or not appointment.is_active:
                raise InvalidInputError("only a booked video appointment becomes a teleconsultation")
            profile_id, starts_at, ends_at = (
                appointment.profile_id,
                appointment.starts_at,
                appointment.ends_at,
            )
        elif profile_id is not None:
            try:
                self.repository.get(KnownPatient.id_for(actor.practitioner_id, profile_id))
            except AggregateNotFoundError:
                raise ForbiddenError("patient not found") from None
            if not 5 <= minutes <= 120:
                raise InvalidInputError("a consultation lasts 5 to 120 minutes")
            starts_at, ends_at = now, now + timedelta(minutes=minutes)
        else:
            raise InvalidInputError("an appointment or a patient is required")
        consultation = Consultation(
            actor.practitioner_id, profile_id, appointment_id, starts_at, ends_at, actor.account_id, now
        )
        code, link = new_code(), secrets.token_urlsafe(32)
        code_digest, link_digest = digest("code", normalise_code(code)), digest("link", link)
        sealed = seal(consultation.id, code, link) if seal is not None else None
        consultation.invite(code_digest, link_digest, actor.account_id, now, sealed)
        keys = [ConsultationKey(d, consultation.id) for d in (code_digest, link_digest)]
        position = self._save(consultation, *keys)
        return Invitation(consultation.id, code, link, position)

    def _by_key(self, key_digest: str) -> Consultation:
        try:
            key: Any = self.repository.get(ConsultationKey.id_for(key_digest))
        except AggregateNotFoundError:
            raise ConsultationAccessError("this link or code is not valid") from None
        return self.get_consultation(key.consultation_id)

    def use_invitation_link(self, token: str, now: datetime) -> Outcome:
        """Single use: the second time, the link is refused."""
        if not token or len(token) > 100:
            raise ConsultationAccessError("this link is not valid")
        link_digest = digest("link", token)
        consultation = self._by_key(link_digest)
        consultation.use_link(link_digest, now)
        return _outcome(consultation.id, self._save(consultation), created=False)

    def find_by_code(self, code: str, now: datetime) -> UUID:
        code_digest = digest("code", normalise_code(code))
        consultation = self._by_key(code_digest)
        consultation.check_code(code_digest, now)
        return consultation.id

    def check_in(
        self, consultation_id: UUID, first_name: str, last_name: str, birth_date: date, now: datetime
    ) -> Outcome:
        """Identity: the profile's name and birth date; a mismatch is counted (5 lock the code)."""
        consultation = self.get_consultation(consultation_id)
        profile = self.get_profile(consultation.profile_id)
        matches = (
            _fold(first_name) == _fold(profile.first_name)
            and _fold(last_name) == _fold(profile.last_name)
            and birth_date == profile.birth_date
        )
        consultation.check_in(matches, now)
        position = self._save(consultation)
        if not matches:
            raise ConsultationAccessError("these details do not match the appointment")
        return _outcome(consultation.id, position, created=False)

    def record_consent(self, consultation_id: UUID, now: datetime) -> Outcome:
        consultation = self.get_consultation(consultation_id)
        consultation.record_consent(now)
        return _outcome(consultation.id, self._save(consultation), created=False)

    def admit(self, actor: Actor, consultation_id: UUID, now: datetime) -> Outcome:
        consultation = self.own_consultation(actor, consultation_id)
        consultation.admit(actor.account_id, now)
        return _outcome(consultation.id, self._save(consultation), created=False)

    def end_consultation(self, actor: Actor, consultation_id: UUID, outcome: str, now: datetime) -> Outcome:
        """honoured, missed, phone (switched to a phone call) or in_person (switched to a visit)."""
        consultation = self.own_consultation(actor, consultation_id)
        consultation.end(outcome, actor.account_id, now)
        return _outcome(consultation.id, self._save(consultation), created=False)

    def record_presence(
        self, consultation_id: UUID, side: str, participant: UUID, present: bool, now: datetime
    ) -> Outcome:
        """A side joined or left the call (reported by the web app when it issues or drops a media token)."""
        if side not in SIDES:
            raise InvalidInputError("unknown side")
        consultation = self.get_consultation(consultation_id)
        if present:
            consultation.join(side, participant, now)
        else:
            consultation.leave(side, participant, now)
        return _outcome(consultation.id, self._save(consultation), created=False)
