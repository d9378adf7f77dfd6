"""Commands about proving who one is: e-mail confirmation, password reset, second factors, language.

Mixed into `Consulta` (application.py). Links and e-mailed codes are
`OneTimeToken`s: random, good once, expiring, stored only as a digest. The
commands return the raw token to the caller, who puts it in an e-mail and
nowhere else. TOTP secrets are recorded sealed (consulta.totp_seal) and opened
only here, to check a code.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pyotp
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from consulta.aggregates.account import Account, EmailIndex
from consulta.aggregates.errors import InvalidInputError, NotFoundError
from consulta.aggregates.identity import CodeInvalidError, Identity, OneTimeToken, TokenInvalidError
from consulta.passwords import hash_password
from consulta.totp_seal import seal_of

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


LIFETIMES = {
    "confirm_email": timedelta(days=2),
    "reset_password": timedelta(hours=1),
    "claim_profile": timedelta(days=14),
    "email_code": timedelta(minutes=10),
}
TOTP_STEP = 30


def totp_step(now: datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP


class IdentityCommands(_Base):
    # -- identities and tokens ------------------------------------------------

    def identity(self, account_id: UUID) -> Identity:
        """The account's identity (an unsaved blank one if nothing was recorded yet)."""
        try:
            found: Any = self.repository.get(Identity.id_for(account_id))
        except AggregateNotFoundError:
            return Identity(account_id=account_id)
        assert isinstance(found, Identity)
        return found

    def needs_second_factor(self, account: Account) -> bool:
        """Staff always log in with a second factor; patients once they turned one on."""
        return account.role != "patient" or self.identity(account.id).second_factor is not None

    def issue_token(
        self,
        purpose: str,
        account_id: UUID | None,
        now: datetime,
        profile_id: UUID | None = None,
        by: UUID | None = None,
        token: str | None = None,
    ) -> tuple[str, int]:
        token = token or secrets.token_urlsafe(32)
        issued = OneTimeToken.issue(token, purpose, account_id, now + LIFETIMES[purpose], profile_id, by)
        return token, self._save(issued)

    def token(self, token: str, purpose: str, now: datetime) -> OneTimeToken:
        """A token still good for `purpose` (TokenInvalidError otherwise); nothing is recorded."""
        if not token or len(token) > 200:
            raise TokenInvalidError("this link or code is no longer valid")
        try:
            found: Any = self.repository.get(OneTimeToken.id_for(token))
        except AggregateNotFoundError:
            raise TokenInvalidError("this link or code is no longer valid") from None
        found.check(purpose, now)
        return found  # type: ignore[no-any-return]

    def _save_using(self, token: OneTimeToken, *changed: Any) -> int:
        """Save a token's use with what it allowed: a concurrent second use conflicts and records nothing."""
        try:
            return self._save(token, *changed)
        except IntegrityError:
            raise TokenInvalidError("this link or code is no longer valid") from None

    # -- e-mail confirmation and password reset ---------------------------------

    def request_email_confirmation(self, account_id: UUID, now: datetime) -> tuple[str, int]:
        self._get(Account, account_id)
        return self.issue_token("confirm_email", account_id, now)

    def confirm_email(self, token: str, now: datetime) -> Outcome:
        used = self.token(token, "confirm_email", now)
        assert used.account_id is not None
        identity = self.identity(used.account_id)
        used.use("confirm_email", now, used.account_id)
        identity.confirm_email()
        return _outcome(used.account_id, self._save_using(used, identity), created=False)

    def request_password_reset(self, email: str, now: datetime) -> tuple[str, Account] | None:
        """A reset link for the account of `email`, or None when there is none (say the same either way)."""
        try:
            index: Any = self.repository.get(EmailIndex.id_for(email))
        except (AggregateNotFoundError, InvalidInputError):
            return None
        account = self._get(Account, index.account_id)
        token, _ = self.issue_token("reset_password", account.id, now)
        return token, account

    def reset_password(self, token: str, new_password: str, now: datetime) -> Outcome:
        used = self.token(token, "reset_password", now)
        assert used.account_id is not None
        account = self._get(Account, used.account_id)
        account.change_password_hash(hash_password(new_password))  # refuses a weak password first
        used.use("reset_password", now, account.id)
        # The link came by e-mail: following it proves the address too.
        identity = self.identity(account.id)
        identity.confirm_email()
        return _outcome(account.id, self._save_using(used, account, identity), created=False)

    # -- second factors -------------------------------------------------------

    @staticmethod
    def new_totp_secret() -> str:
        return pyotp.random_base32()

    @staticmethod
    def _matching_step(secret: str, code: str, now: datetime) -> int | None:
        """The time step (now, one before or one after) whose code this is, or None."""
        code = "".join(code.split())
        if not (code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        for step in (totp_step(now), totp_step(now) - 1, totp_step(now) + 1):
            if secrets.compare_digest(totp.at(step * TOTP_STEP), code):
                return step
        return None

    def enable_totp(self, account_id: UUID, secret: str, code: str, now: datetime) -> Outcome:
        """Turn on the authenticator app once it shows a right code for `secret`; recorded sealed."""
        if len(secret) < 16 or not secret.isalnum():
            raise InvalidInputError("not a TOTP secret")
        step = self._matching_step(secret, code, now)
        if step is None:
            raise CodeInvalidError("wrong code")
        identity = self.identity(account_id)
        identity.enable_totp(seal_of(self).seal(account_id, secret), step)
        return _outcome(account_id, self._save(identity), created=False)

    def verify_totp(self, account_id: UUID, code: str, now: datetime) -> Outcome:
        """SecondFactorKeyError when the recorded secret does not open with this server's key."""
        identity = self.identity(account_id)
        recorded = identity.totp_secret
        secret = seal_of(self).open(account_id, recorded) if recorded else None
        step = self._matching_step(secret, code, now) if secret else None
        if step is None:
            raise CodeInvalidError("wrong code")
        identity.use_totp_step(step)  # a code already used is refused
        try:
            return _outcome(account_id, self._save(identity), created=False)
        except IntegrityError:
            raise CodeInvalidError("this code was already used") from None

    def reset_second_factor(self, account_id: UUID) -> Outcome:
        """The operator's reset (`consulta account reset-second-factor`); position 0 when there was none."""
        identity = self.identity(account_id)
        if identity.second_factor is None and identity.totp_secret is None:
            return _outcome(account_id, 0, created=False)  # none set up (maybe no identity recorded at all)
        identity.reset_second_factor()
        return _outcome(account_id, self._save(identity), created=False)

    def enable_email_codes(self, account_id: UUID, now: datetime) -> Outcome:
        identity = self.identity(account_id)
        identity.enable_email_codes()
        return _outcome(account_id, self._save(identity), created=False)

    def send_email_code(self, account_id: UUID, now: datetime) -> tuple[str, str]:
        """(challenge, code): the code goes by e-mail, the challenge stays in the session."""
        challenge = secrets.token_urlsafe(16)
        code = f"{secrets.randbelow(10**6):06d}"
        self.issue_token("email_code", account_id, now, token=f"{account_id}:{challenge}:{code}")
        return challenge, code

    def verify_email_code(self, account_id: UUID, challenge: str, code: str, now: datetime) -> Outcome:
        code = "".join(code.split())
        try:
            used = self.token(f"{account_id}:{challenge}:{code}", "email_code", now)
        except TokenInvalidError:
            raise CodeInvalidError("wrong or expired code") from None
        used.use("email_code", now, account_id)
        try:
            position = self._save(used)
        except IntegrityError:
            raise CodeInvalidError("wrong or expired code") from None
        return _outcome(account_id, position, created=False)

    # -- preferences ----------------------------------------------------------

    def choose_language(self, account_id: UUID, language: str) -> Outcome:
        identity = self.identity(account_id)
        identity.choose_language(language)
        if not identity.pending_events:
            return _outcome(account_id, 0, created=False)
        return _outcome(account_id, self._save(identity), created=False)

    def account_by_email(self, email: str) -> Account:
        try:
            index: Any = self.repository.get(EmailIndex.id_for(email))
        except (AggregateNotFoundError, InvalidInputError):
            raise NotFoundError("account not found") from None
        return self._get(Account, index.account_id)
