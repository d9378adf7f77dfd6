"""Commands for families, hand-overs, tele-secretaries and practitioner details.

Mixed into `Consulta` (application.py). Who may do what is decided here,
from aggregates (never from a session or a read model): the profile's
manager, the practitioner's own account, or a secretary whose `Grant` is
active at the moment of the command.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from consulta.aggregates.account import Account, EmailIndex, Profile, normalise_email
from consulta.aggregates.errors import EmailTakenError, ForbiddenError, InvalidInputError
from consulta.aggregates.family import check_handover_age
from consulta.aggregates.identity import TokenInvalidError
from consulta.aggregates.practitioner import Practitioner
from consulta.aggregates.secretariat import Grant, PractitionerMessage
from consulta.passwords import hash_password

if TYPE_CHECKING:
    from consulta.application import Actor, Outcome

    _Base = Any  # the mixin's methods use Consulta's helpers (_save, _get, ...)
else:
    _Base = object


def _outcome(*args: Any, **kwargs: Any) -> Outcome:
    from consulta.application import Outcome  # application.py imports this module: import when used

    return Outcome(*args, **kwargs)


def _actor(*args: Any, **kwargs: Any) -> Actor:
    from consulta.application import Actor

    return Actor(*args, **kwargs)


class FamilyCommands(_Base):
    # -- profiles an account manages -------------------------------------------

    def managed_profile(self, actor: Actor, profile_id: UUID) -> Profile:
        profile = self.get_profile(profile_id)
        if actor.role != "patient" or profile.manager_id != actor.account_id:
            raise ForbiddenError("profile not found")
        return profile

    def add_profile(
        self, actor: Actor, first_name: str, last_name: str, birth_date: date, now: datetime
    ) -> Outcome:
        """A child, a spouse, a parent: a profile the account manages."""
        if actor.role != "patient":
            raise ForbiddenError("profile not found")
        profile = Profile.create(
            first_name, last_name, birth_date, actor.account_id, actor.account_id, now.date()
        )
        return _outcome(profile.id, self._save(profile))

    def invite_to_take_over(self, actor: Actor, profile_id: UUID, now: datetime) -> tuple[str, int]:
        """A one-time link for the person of a managed profile (15 or older) to take it to their own account."""
        profile = self.managed_profile(actor, profile_id)
        account = self._get(Account, actor.account_id)
        if account.profile_id == profile_id:
            raise InvalidInputError("this is your own profile")
        check_handover_age(profile.birth_date, now.date())
        return self.issue_token(
            "claim_profile", actor.account_id, now, profile_id=profile_id, by=actor.account_id
        )

    def claim_profile(self, actor: Actor, token: str, now: datetime) -> Outcome:
        """The invited account takes the profile: the former manager loses it in the same save."""
        if actor.role != "patient":
            raise ForbiddenError("profile not found")
        used = self.token(token, "claim_profile", now)
        assert used.profile_id is not None
        profile = self.get_profile(used.profile_id)
        profile.change_manager(actor.account_id, actor.account_id, used.account_id)
        used.use("claim_profile", now, actor.account_id)
        return _outcome(profile.id, self._save_using(used, profile), created=False)

    def register_and_claim(self, token: str, email: str, password: str, now: datetime) -> Outcome:
        """A new account whose own profile is the claimed one (the teenager's first account)."""
        used = self.token(token, "claim_profile", now)
        assert used.profile_id is not None
        email = normalise_email(email)
        account = Account.register(email, hash_password(password), "patient", used.profile_id)
        profile = self.get_profile(used.profile_id)
        profile.change_manager(account.id, account.id, used.account_id)
        used.use("claim_profile", now, account.id)
        try:
            position = self._save(used, account, EmailIndex(email=email, account_id=account.id), profile)
        except IntegrityError:
            try:
                self.repository.get(EmailIndex.id_for(email))
            except AggregateNotFoundError:
                raise TokenInvalidError("this link or code is no longer valid") from None
            raise EmailTakenError("an account already uses this e-mail") from None
        return _outcome(account.id, position)

    def set_contact(
        self, actor: Actor, profile_id: UUID, phone: str, email: str, practitioner_id: UUID | None = None
    ) -> Outcome:
        if actor.role == "patient":
            profile = self.managed_profile(actor, profile_id)
        else:
            profile = self._profile_for(actor, profile_id, practitioner_id)  # type: ignore[arg-type]
        profile.set_contact(phone, email, actor.account_id)
        if not profile.pending_events:
            return _outcome(profile_id, 0, created=False)
        return _outcome(profile_id, self._save(profile), created=False)

    # -- profiles created by the practice (no account yet) -----------------------

    def create_practice_profile(
        self,
        actor: Actor,
        practitioner_id: UUID,
        first_name: str,
        last_name: str,
        birth_date: date,
        phone: str,
        email: str,
        now: datetime,
    ) -> Outcome:
        if not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")
        profile = Profile.create(first_name, last_name, birth_date, None, actor.account_id, now.date())
        profile.set_contact(phone, email, actor.account_id)
        profile.register_at_practice(practitioner_id, actor.account_id)
        return _outcome(profile.id, self._save(profile))

    def invite_to_claim(
        self, actor: Actor, practitioner_id: UUID, profile_id: UUID, now: datetime
    ) -> tuple[str, str]:
        """(token, e-mail): a link for the person of a profile nobody manages yet, sent to its e-mail."""
        profile = self._profile_for(actor, profile_id, practitioner_id)
        if profile.manager_id is not None or not getattr(profile, "email", ""):
            raise InvalidInputError("only a profile without an account, with an e-mail, can be claimed")
        token, _ = self.issue_token("claim_profile", None, now, profile_id=profile_id, by=actor.account_id)
        return token, profile.email

    # -- tele-secretaries --------------------------------------------------------

    def add_secretary(self, email: str, password: str, now: datetime) -> Outcome:
        return self.register_account(email, password, "secretary", now)

    def _grant(self, practitioner_id: UUID, secretary_id: UUID) -> Grant | None:
        try:
            found: Any = self.repository.get(Grant.id_for(practitioner_id, secretary_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Grant) else None

    def is_granted(self, secretary_id: UUID, practitioner_id: UUID) -> bool:
        grant = self._grant(practitioner_id, secretary_id)
        return grant is not None and grant.active

    def secretary_actor(self, secretary_id: UUID, practitioner_id: UUID) -> Actor:
        """The actor of a secretary working on one agenda, if that grant is active now (404 otherwise)."""
        if not self.is_granted(secretary_id, practitioner_id):
            raise ForbiddenError("practitioner not found")
        return _actor(secretary_id, "secretary", practitioner_id)

    def _own_practice(self, actor: Actor) -> UUID:
        if actor.role != "practitioner" or actor.practitioner_id is None:
            raise ForbiddenError("practitioner not found")
        return actor.practitioner_id

    def grant_secretary(self, actor: Actor, secretary_email: str, now: datetime) -> Outcome:
        practitioner_id = self._own_practice(actor)
        secretary = self.account_by_email(secretary_email)
        if secretary.role != "secretary":
            raise InvalidInputError("this account is not a secretariat account")
        grant = self._grant(practitioner_id, secretary.id)
        if grant is None:
            grant = Grant(practitioner_id=practitioner_id, secretary_id=secretary.id, by=actor.account_id)
        else:
            grant.grant_again(actor.account_id)
        if not grant.pending_events:
            return _outcome(grant.id, 0, created=False)
        return _outcome(grant.id, self._retrying(lambda: self._save(grant)))

    def revoke_secretary(self, actor: Actor, secretary_id: UUID, now: datetime) -> Outcome:
        practitioner_id = self._own_practice(actor)
        grant = self._grant(practitioner_id, secretary_id)
        if grant is None:
            raise ForbiddenError("secretary not found")
        grant.revoke(actor.account_id)
        if not grant.pending_events:
            return _outcome(grant.id, 0, created=False)
        return _outcome(grant.id, self._save(grant), created=False)

    def leave_message(
        self, actor: Actor, practitioner_id: UUID, text: str, profile_id: UUID | None, now: datetime
    ) -> Outcome:
        if actor.role != "secretary" or not actor.may_manage_agenda(practitioner_id):
            raise ForbiddenError("practitioner not found")
        if profile_id is not None:
            self.get_profile(profile_id)
        message = PractitionerMessage.leave(practitioner_id, actor.account_id, text, profile_id)
        return _outcome(message.id, self._save(message))

    def mark_message_done(self, actor: Actor, message_id: UUID, now: datetime) -> Outcome:
        practitioner_id = self._own_practice(actor)
        message = self._get(PractitionerMessage, message_id)
        if message.practitioner_id != practitioner_id:
            raise ForbiddenError("message not found")
        message.mark_done(actor.account_id)
        if not message.pending_events:
            return _outcome(message_id, 0, created=False)
        return _outcome(message_id, self._save(message), created=False)

    # -- practitioner details ----------------------------------------------------

    def describe_practitioner(self, actor: Actor, practitioner_id: UUID, details: dict[str, Any]) -> Outcome:
        if actor.role != "practitioner" or actor.practitioner_id != practitioner_id:
            raise ForbiddenError("practitioner not found")

        def attempt() -> Outcome:
            practitioner: Practitioner = self.get_practitioner(practitioner_id)
            practitioner.describe(details)
            return _outcome(practitioner_id, self._save(practitioner), created=False)

        return self._retrying(attempt)
