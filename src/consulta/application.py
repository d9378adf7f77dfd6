"""The Consulta application: commands over the aggregates, one event log.

Every command takes `now` and an `Actor`; it loads aggregates, lets them
decide, and saves everything it changed in one `save()` (one transaction).
Rules that span aggregates (no two appointments of one practitioner overlap;
one account per e-mail) rest on deterministic ids: a concurrent writer makes
the second save conflict, and the command decides again on fresh state.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from consulta.aggregates.account import Account, EmailIndex, Profile, normalise_email
from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment, KnownPatient
from consulta.aggregates.errors import (
    AuthenticationError,
    BlockConflictError,
    BusyError,
    EmailTakenError,
    ForbiddenError,
    InvalidInputError,
    MotifNotBookableError,
    NotFoundError,
    SlotTakenError,
)
from consulta.aggregates.practice_patient import AgendaPatient, names_the_profile
from consulta.aggregates.practitioner import Practitioner
from consulta.aggregates.rules import AgendaRules
from consulta.families import FamilyCommands
from consulta.identity import IdentityCommands
from consulta.passwords import hash_password, verify_password
from consulta.teleconsultation import TeleconsultationCommands

T = TypeVar("T")
CONFLICT_RETRIES = 8


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


@dataclass(frozen=True)
class Actor:
    """Who is acting: an account, in a role, possibly for a practitioner's agenda."""

    account_id: UUID
    role: str  # "patient", "practitioner", "secretary", "system"
    practitioner_id: UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("practitioner", "secretary", "system")

    def may_manage_agenda(self, practitioner_id: UUID) -> bool:
        return self.role == "system" or (self.is_staff and self.practitioner_id == practitioner_id)


SYSTEM = Actor(UUID(int=0), "system")


@dataclass(frozen=True)
class Outcome:
    """What a command did: the id it concerns and the log position to wait for."""

    id: UUID
    position: int
    created: bool = True


class Consulta(TeleconsultationCommands, IdentityCommands, FamilyCommands, Application):  # type: ignore[misc]  # mixins: identity.py, families.py
    name = "consulta"
    log_section_size = 1000

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, loading without a per-event Protocol check (docs/performance.md)."""
        from consulta.recorder import ConsultaRepository

        repository = super().construct_repository()
        repository.__class__ = ConsultaRepository
        return repository

    # -- helpers ---------------------------------------------------------

    def _save(self, *aggregates: Any) -> int:
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=0)

    def _get(self, cls: type[T], aggregate_id: UUID) -> T:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"{cls.__name__.lower()} not found") from None
        if not isinstance(found, cls):
            raise NotFoundError(f"{cls.__name__.lower()} not found")
        return found

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run a decide-and-save attempt again when a concurrent save won the race.

        Waits a little, at random, between attempts so that writers racing for
        one agenda day spread out; after CONFLICT_RETRIES lost races it gives up
        with BusyError (nothing recorded) rather than an unexplained failure.
        """
        for round_ in range(CONFLICT_RETRIES):
            try:
                return attempt()
            except IntegrityError:
                time.sleep(random.uniform(0, 0.002 * 2**round_))
        raise BusyError("the agenda is busy: please try again")

    def _day(self, practitioner_id: UUID, day: date) -> AgendaDay:
        try:
            found: Any = self.repository.get(AgendaDay.id_for(practitioner_id, day))
        except AggregateNotFoundError:
            return AgendaDay(practitioner_id=practitioner_id, day=day)
        assert isinstance(found, AgendaDay)
        return found

    # -- accounts --------------------------------------------------------

    def register_patient(
        self, email: str, password: str, first_name: str, last_name: str, birth_date: date, now: datetime
    ) -> Outcome:
        return self.register_account(email, password, "patient", now, (first_name, last_name, birth_date))

    def register_account(
        self,
        email: str,
        password: str,
        role: str,
        now: datetime,
        profile: tuple[str, str, date] | None = None,
    ) -> Outcome:
        """Create an account (and its own profile for a patient) unless the e-mail is taken."""
        email = normalise_email(email)
        password_hash = hash_password(password)
        account_id = uuid4()
        aggregates: list[Any] = [EmailIndex(email=email, account_id=account_id)]
        own_profile_id = None
        if profile is not None:
            first, last, birth = profile
            own = Profile.create(first, last, birth, account_id, account_id, now.date())
            own_profile_id = own.id
            aggregates.append(own)
        account = Account.register(email, password_hash, role, own_profile_id, account_id)
        aggregates.append(account)
        try:
            position = self._save(*aggregates)
        except IntegrityError:
            raise EmailTakenError("an account already uses this e-mail") from None
        return Outcome(account.id, position)

    def authenticate(self, email: str, password: str) -> Account:
        try:
            index_id = EmailIndex.id_for(email)
        except InvalidInputError:
            index_id = None
        account: Account | None = None
        if index_id is not None:
            try:
                index: Any = self.repository.get(index_id)
                account = self._get(Account, index.account_id)
            except (AggregateNotFoundError, NotFoundError):
                account = None
        if not verify_password(account.password_hash if account else None, password) or account is None:
            raise AuthenticationError("wrong e-mail or password")
        return account

    def get_account(self, account_id: UUID) -> Account:
        return self._get(Account, account_id)

    def get_profile(self, profile_id: UUID) -> Profile:
        return self._get(Profile, profile_id)

    # -- practitioners ---------------------------------------------------

    def add_practitioner(
        self,
        email: str,
        password: str,
        name: str,
        specialty: str,
        city: str,
        now: datetime,
        address: str = "",
        timezone: str = "Europe/Paris",
    ) -> Outcome:
        email = normalise_email(email)
        account = Account.register(email, hash_password(password), "practitioner", None)
        practitioner = Practitioner.register(account.id, name, specialty, city, address, timezone)
        account.link_practitioner(practitioner.id)
        try:
            position = self._save(account, EmailIndex(email=email, account_id=account.id), practitioner)
        except IntegrityError:
            raise EmailTakenError("an account already uses this e-mail") from None
        return Outcome(practitioner.id, position)

    def get_practitioner(self, practitioner_id: UUID) -> Practitioner:
        return self._get(Practitioner, practitioner_id)

    def configure_agenda(
        self,
        actor: Actor,
        practitioner_id: UUID,
        *,
        hours: list[dict[str, Any]] | None = None,
        motifs: Sequence[dict[str, Any]] = (),
        reserved: list[dict[str, Any]] | None = None,
        policy: dict[str, Any] | None = None,
    ) -> Outcome:
        if not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")

        def attempt() -> Outcome:
            practitioner = self.get_practitioner(practitioner_id)
            if policy:
                practitioner.set_policy(**policy)
            if hours is not None:
                practitioner.set_opening_hours(hours)
            for motif in motifs:
                practitioner.save_motif(motif)
            if reserved is not None:
                practitioner.set_reserved_periods(reserved)
            return Outcome(practitioner_id, self._save(practitioner), created=False)

        return self._retrying(attempt)

    # -- booking ---------------------------------------------------------

    def _profile_for(
        self, actor: Actor, profile_id: UUID, practitioner_id: UUID, named: tuple[str, date] | None = None
    ) -> Profile:
        """The profile, if the actor may act for it on this agenda; else "profile not found", as if missing.

        Staff may act for a patient of the practice (`_is_practice_patient`), or
        for anyone whose last name and birth date they give (`named`), as their
        search finds a patient new to the practice (docs/security.md).
        """
        if actor.role != "patient" and not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")  # before the profile: no hint that it exists
        profile = self.get_profile(profile_id)
        if actor.role == "patient" and profile.manager_id != actor.account_id:
            raise ForbiddenError("profile not found")
        if actor.role in ("practitioner", "secretary") and not (
            self._is_practice_patient(practitioner_id, profile)
            or (named is not None and names_the_profile(*named, profile.last_name, profile.birth_date))
        ):
            raise ForbiddenError("profile not found")
        return profile

    def _is_practice_patient(self, practitioner_id: UUID, profile: Profile) -> bool:
        """Created by the practice, or has or had an appointment in its agenda (any status), or seen."""
        if practitioner_id in getattr(profile, "practice_ids", ()):
            return True
        if self._has_agenda_patient(practitioner_id, profile.id):
            return True
        try:  # seen (honoured) before AgendaPatient existed
            self.repository.get(KnownPatient.id_for(practitioner_id, profile.id))
        except AggregateNotFoundError:
            return False
        return True

    def _has_agenda_patient(self, practitioner_id: UUID, profile_id: UUID) -> bool:
        """Whether the AgendaPatient exists; one found stays (never removed), so this process remembers it."""
        key, seen = AgendaPatient.id_for(practitioner_id, profile_id), self._agenda_patients_seen()
        if key in seen:
            return True
        try:
            self.repository.get(key)
        except AggregateNotFoundError:
            return False
        if len(seen) > 200_000:
            seen.clear()  # a bound on memory: forgetting only costs a read
        seen.add(key)
        return True

    def _agenda_patients_seen(self) -> set[UUID]:
        """AgendaPatient ids this application found or saved (its own store's: an instance attribute)."""
        seen: set[UUID] = self.__dict__.setdefault("_seen_agenda_patients", set())
        return seen

    def hold_slot(
        self,
        actor: Actor,
        practitioner_id: UUID,
        motif_id: str,
        mode: str,
        starts_at: datetime,
        now: datetime,
        minutes: int,
        replaces: UUID | None = None,
    ) -> Outcome:
        """Keep a slot for `minutes` while its chooser confirms; it frees itself after."""
        if not 1 <= minutes <= 60:
            raise InvalidInputError("a slot is held for 1 to 60 minutes")
        rules = self.get_practitioner(practitioner_id).rules
        slot = rules.check_bookable(motif_id, mode, starts_at, now, staff=actor.is_staff)
        hold_id = uuid4()

        def attempt() -> Outcome:
            day = self._day(practitioner_id, rules.local_day(slot.starts_at))
            day.hold(
                hold_id,
                slot.starts_at,
                slot.ends_at,
                mode,
                now + timedelta(minutes=minutes),
                now,
                replaces=[str(replaces)] if replaces else None,
                by=actor.account_id,
                by_role=actor.role,
            )
            return Outcome(hold_id, self._save(day))

        return self._retrying(attempt)

    def book(
        self,
        actor: Actor,
        practitioner_id: UUID,
        motif_id: str,
        mode: str,
        starts_at: datetime,
        profile_id: UUID,
        now: datetime,
        hold_id: UUID | None = None,
        appointment_id: UUID | None = None,
        named: tuple[str, date] | None = None,
    ) -> Outcome:
        """Book a slot. With an `appointment_id` (an idempotency key), a retry returns the first booking.

        The retry is answered before the rules are checked again (the notice
        may have run out since); a key already used for another booking is refused.
        Staff booking a patient new to the practice pass `named`: (last name, birth date).
        """
        practitioner = self.get_practitioner(practitioner_id)
        rules = practitioner.rules
        self._profile_for(actor, profile_id, practitioner_id, named)
        request = (practitioner_id, profile_id, motif_id, mode, starts_at)
        if appointment_id is not None and (existing := self._existing(appointment_id, request)):
            return existing
        slot = rules.check_bookable(motif_id, mode, starts_at, now, staff=actor.is_staff)
        if not actor.is_staff and not rules.motif(motif_id).new_patients:
            self._require_known(practitioner_id, profile_id)
        new_id = appointment_id or uuid4()

        def attempt() -> Outcome:
            if appointment_id is not None and (existing := self._existing(appointment_id, request)):
                return existing
            day = self._day(practitioner_id, rules.local_day(slot.starts_at))
            day.place(
                new_id,
                slot.starts_at,
                slot.ends_at,
                mode,
                now,
                rules.policy.video_daily_cap,
                hold_id,
                by=actor.account_id,
                by_role=actor.role,
            )
            appointment = Appointment(
                id=new_id,
                practitioner_id=practitioner_id,
                profile_id=profile_id,
                motif_id=motif_id,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                mode=mode,
                by=actor.account_id,
                by_role=actor.role,
            )
            changed: list[Any] = [day, appointment]
            if not self._has_agenda_patient(practitioner_id, profile_id):  # the first appointment there
                changed.append(AgendaPatient(practitioner_id, profile_id, new_id, actor.account_id))
            outcome = Outcome(new_id, self._save(*changed))
            self._agenda_patients_seen().add(AgendaPatient.id_for(practitioner_id, profile_id))
            return outcome

        return self._retrying(attempt)

    def _existing(self, appointment_id: UUID, request: tuple[Any, ...]) -> Outcome | None:
        """The first answer to a repeated booking, compared with the booking as first made."""
        try:
            first: Any = self.repository.get(appointment_id, version=1)
        except AggregateNotFoundError:
            return None
        if not isinstance(first, Appointment) or request != (
            first.practitioner_id,
            first.profile_id,
            first.motif_id,
            first.mode,
            first.starts_at,
        ):
            raise InvalidInputError("this idempotency key was already used for another request")
        return Outcome(appointment_id, 0, created=False)

    def _require_known(self, practitioner_id: UUID, profile_id: UUID) -> None:
        try:
            self.repository.get(KnownPatient.id_for(practitioner_id, profile_id))
        except AggregateNotFoundError:
            raise MotifNotBookableError("this motif is for the practitioner's known patients") from None

    def get_appointment(self, actor: Actor, appointment_id: UUID) -> Appointment:
        appointment = self._get(Appointment, appointment_id)
        if actor.role == "system" or actor.may_manage_agenda(appointment.practitioner_id):
            return appointment
        if actor.role == "patient":
            profile = self.get_profile(appointment.profile_id)
            if profile.manager_id == actor.account_id:
                return appointment
        raise ForbiddenError("appointment not found")

    def cancel(self, actor: Actor, appointment_id: UUID, reason: str, now: datetime) -> Outcome:
        def attempt() -> Outcome:
            appointment = self.get_appointment(actor, appointment_id)
            rules = self.get_practitioner(appointment.practitioner_id).rules
            cutoff = None if actor.is_staff else timedelta(minutes=rules.policy.cancel_cutoff_minutes)
            appointment.cancel(actor.account_id, actor.role, reason, now, cutoff)
            day = self._day(appointment.practitioner_id, rules.local_day(appointment.starts_at))
            day.release(appointment.id, actor.account_id, actor.role)
            return Outcome(appointment_id, self._save(appointment, day), created=False)

        return self._retrying(attempt)

    def reschedule(
        self,
        actor: Actor,
        appointment_id: UUID,
        starts_at: datetime,
        now: datetime,
        mode: str | None = None,
    ) -> Outcome:
        def attempt() -> Outcome:
            appointment = self.get_appointment(actor, appointment_id)
            rules = self.get_practitioner(appointment.practitioner_id).rules
            new_mode = mode or appointment.mode
            if appointment.is_active and (starts_at, new_mode) == (appointment.starts_at, appointment.mode):
                return Outcome(appointment_id, 0, created=False)  # already there: a retry records nothing
            slot = rules.check_bookable(appointment.motif_id, new_mode, starts_at, now, staff=actor.is_staff)
            cutoff = None if actor.is_staff else timedelta(minutes=rules.policy.cancel_cutoff_minutes)
            old_day = self._day(appointment.practitioner_id, rules.local_day(appointment.starts_at))
            new_key = rules.local_day(slot.starts_at)
            new_day = old_day if new_key == old_day.day else self._day(appointment.practitioner_id, new_key)
            appointment.reschedule(
                actor.account_id, actor.role, slot.starts_at, slot.ends_at, new_mode, now, cutoff
            )
            old_day.release(appointment.id, actor.account_id, actor.role)
            new_day.place(
                appointment.id,
                slot.starts_at,
                slot.ends_at,
                new_mode,
                now,
                rules.policy.video_daily_cap,
                by=actor.account_id,
                by_role=actor.role,
            )
            days = [old_day] if new_day is old_day else [old_day, new_day]
            return Outcome(appointment_id, self._save(appointment, *days), created=False)

        return self._retrying(attempt)

    def mark_honoured(self, actor: Actor, appointment_id: UUID, now: datetime) -> Outcome:
        return self._close(actor, appointment_id, now, honoured=True)

    def mark_missed(self, actor: Actor, appointment_id: UUID, now: datetime) -> Outcome:
        return self._close(actor, appointment_id, now, honoured=False)

    def _close(self, actor: Actor, appointment_id: UUID, now: datetime, honoured: bool) -> Outcome:
        def attempt() -> Outcome:
            appointment = self.get_appointment(actor, appointment_id)
            if not actor.may_manage_agenda(appointment.practitioner_id):
                raise ForbiddenError("appointment not found")
            changed: list[Any] = [appointment]
            if honoured:
                appointment.mark_honoured(actor.account_id, actor.role, now)
                known_id = KnownPatient.id_for(appointment.practitioner_id, appointment.profile_id)
                try:
                    self.repository.get(known_id)
                except AggregateNotFoundError:
                    seen = KnownPatient(
                        appointment.practitioner_id, appointment.profile_id, appointment.id, actor.account_id
                    )
                    changed.append(seen)
            else:
                appointment.mark_missed(actor.account_id, actor.role, now)
            # The slot stays taken: an honoured or missed appointment still used the time.
            return Outcome(appointment_id, self._save(*changed), created=False)

        return self._retrying(attempt)

    # -- blocks ----------------------------------------------------------

    def block_period(
        self, actor: Actor, practitioner_id: UUID, starts_at: datetime, ends_at: datetime, now: datetime
    ) -> Outcome:
        """Block [starts_at, ends_at); refused while active appointments lie inside.

        The refusal lists them (BlockConflictError.appointment_ids): the
        practitioner cancels each with a reason, then blocks again.
        """
        if not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")
        if starts_at.tzinfo is None or ends_at.tzinfo is None or not starts_at < ends_at:
            raise InvalidInputError("a period needs a start before its end, with offsets")
        if ends_at - starts_at > timedelta(days=366):
            raise InvalidInputError("a period lasts at most a year")
        rules = self.get_practitioner(practitioner_id).rules
        block_id = uuid5(NAMESPACE_URL, f"/blocks/{practitioner_id}/{uuid4()}")

        def attempt() -> Outcome:
            days = [self._day(practitioner_id, d) for d in _days_between(rules, starts_at, ends_at)]
            conflicts: list[str] = []
            for day in days:
                lo, hi = rules.day_bounds(day.day)
                inside = day.appointments_within(max(starts_at, lo), min(ends_at, hi))
                # Honoured and missed appointments keep their time but can no longer be cancelled.
                closed = [a for a in inside if not self._get(Appointment, UUID(a)).is_active]
                try:
                    day.block(
                        block_id, max(starts_at, lo), min(ends_at, hi), actor.account_id, actor.role, closed
                    )
                except BlockConflictError as error:  # gather those of every day
                    conflicts.extend(error.appointment_ids)
            if conflicts:
                raise BlockConflictError(conflicts)
            return Outcome(block_id, self._save(*days))

        return self._retrying(attempt)

    def lift_block(
        self, actor: Actor, practitioner_id: UUID, block_id: UUID, starts_at: datetime, ends_at: datetime
    ) -> Outcome:
        if not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")
        if starts_at.tzinfo is None or ends_at.tzinfo is None or not starts_at < ends_at:
            raise InvalidInputError("a period needs a start before its end, with offsets")
        if ends_at - starts_at > timedelta(days=366):
            raise InvalidInputError("a period lasts at most a year")
        rules = self.get_practitioner(practitioner_id).rules

        def attempt() -> Outcome:
            days = [self._day(practitioner_id, d) for d in _days_between(rules, starts_at, ends_at)]
            days = [day for day in days if str(block_id) in day.blocks]
            if not days:
                raise NotFoundError("block not found")
            for day in days:
                day.unblock(block_id, actor.account_id, actor.role)
            return Outcome(block_id, self._save(*days), created=False)

        return self._retrying(attempt)


def _days_between(rules: AgendaRules, starts_at: datetime, ends_at: datetime) -> list[date]:
    first = rules.local_day(starts_at)
    last = rules.local_day(ends_at - timedelta(microseconds=1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


__all__ = ["SYSTEM", "Actor", "Consulta", "Outcome", "SlotTakenError"]
