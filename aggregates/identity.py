"""What proves who someone is, beyond the password: confirmed e-mail, second factor, one-time tokens.

`Identity` is one per account (deterministic id), so no existing account
event changes. `OneTimeToken` backs every link and e-mailed code: its id is
derived from the SHA-256 of the token, so the token itself is never stored,
and using it twice conflicts (a second `Used` on the same version).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidInputError

LANGUAGES = ("fr", "en")
SECOND_FACTORS = ("totp", "email")
TOKEN_PURPOSES = ("confirm_email", "reset_password", "claim_profile", "email_code")
TOTP_SEALED_PREFIX = "v1:"  # the recorded TOTP secret's form; no prefix: clear, recorded before sealing


class TokenInvalidError(DomainError):
    """Unknown, already used, meant for something else or expired: one answer for all."""

    code = "token_invalid"


class CodeInvalidError(DomainError):
    code = "code_invalid"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Identity(Aggregate):
    TOPIC = "consulta.Identity"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.Identity.Created"

    @staticmethod
    def id_for(account_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/identities/{account_id}")

    @classmethod
    def create_id(cls, account_id: UUID) -> UUID:  # eventsourcing hook
        return cls.id_for(account_id)

    @event("Opened", topic="consulta.Identity.Opened")
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.email_confirmed = False
        self.second_factor: str | None = None
        self.totp_secret: str | None = None  # as recorded: sealed ("v1:..."), or clear from before sealing
        self.last_totp_step = 0
        self.language: str | None = None

    def confirm_email(self) -> None:
        if not self.email_confirmed:
            self._email_confirmed()

    @event("EmailConfirmed", topic="consulta.Identity.EmailConfirmed")
    def _email_confirmed(self) -> None:
        self.email_confirmed = True

    def enable_totp(self, sealed_secret: str, step: int) -> None:
        """`sealed_secret`: the secret sealed for this account (consulta.totp_seal), never the clear one.

        `step` is the time step of the code that proved the app holds the secret (used up).
        """
        if not sealed_secret.startswith(TOTP_SEALED_PREFIX) or len(sealed_secret) < 43:  # nonce and tag alone
            raise InvalidInputError("a TOTP secret is recorded sealed")
        self._totp_enabled(sealed_secret, step)

    @event("TotpEnabled", topic="consulta.Identity.TotpEnabled")
    def _totp_enabled(self, secret: str, step: int) -> None:
        # `secret` as recorded: "v1:..." sealed; events from before sealing hold it in clear (base32).
        self.second_factor = "totp"
        self.totp_secret = secret
        self.last_totp_step = step

    def use_totp_step(self, step: int) -> None:
        """A TOTP code is good once: a step at or before the last one used is refused."""
        if self.second_factor != "totp":
            raise CodeInvalidError("no authenticator app is set up")
        if step <= self.last_totp_step:
            raise CodeInvalidError("this code was already used")
        self._totp_used(step)

    @event("TotpUsed", topic="consulta.Identity.TotpUsed")
    def _totp_used(self, step: int) -> None:
        self.last_totp_step = step

    def reset_second_factor(self) -> None:
        """An operator clears the second factor (a lost phone, a lost server key): the next login sets one up.

        Staff set up a new authenticator app at their next login; a patient logs in with the password
        alone until they choose one again. Nothing recorded when there is none.
        """
        if self.second_factor is not None or self.totp_secret is not None:
            self._second_factor_reset()

    @event("SecondFactorReset", topic="consulta.Identity.SecondFactorReset")
    def _second_factor_reset(self) -> None:
        self.second_factor = None
        self.totp_secret = None  # the sealed secret is no longer used: codes of the old app never pass again

    def enable_email_codes(self) -> None:
        if not self.email_confirmed:
            raise InvalidInputError("confirm your e-mail address first")
        self._email_codes_enabled()

    @event("EmailCodesEnabled", topic="consulta.Identity.EmailCodesEnabled")
    def _email_codes_enabled(self) -> None:
        self.second_factor = "email"
        self.totp_secret = None

    def choose_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise InvalidInputError("unknown language")
        if language != self.language:
            self._language_chosen(language)

    @event("LanguageChosen", topic="consulta.Identity.LanguageChosen")
    def _language_chosen(self, language: str) -> None:
        self.language = language


class OneTimeToken(Aggregate):
    """A link or code, good once, until `expires_at`, for one purpose."""

    TOPIC = "consulta.OneTimeToken"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.OneTimeToken.Created"

    @staticmethod
    def id_for(token: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/tokens/{token_digest(token)}")

    @classmethod
    def issue(
        cls,
        token: str,
        purpose: str,
        account_id: UUID | None,
        expires_at: datetime,
        profile_id: UUID | None = None,
        by: UUID | None = None,
    ) -> OneTimeToken:
        if purpose not in TOKEN_PURPOSES:
            raise InvalidInputError("unknown token purpose")
        # Only the id derived from the token's digest is stored, never the token.
        return cls(id=cls.id_for(token), purpose=purpose, account_id=account_id, expires_at=expires_at,
                   profile_id=profile_id, by=by)  # fmt: skip

    @event("Issued", topic="consulta.OneTimeToken.Issued")
    def __init__(
        self,
        id: UUID,
        purpose: str,
        account_id: UUID | None,
        expires_at: datetime,
        profile_id: UUID | None,
        by: UUID | None,
    ) -> None:
        self.purpose = purpose
        self.account_id = account_id
        self.expires_at = expires_at
        self.profile_id = profile_id
        self.issued_by = by
        self.used = False

    def check(self, purpose: str, now: datetime) -> None:
        if self.used or self.purpose != purpose or now >= self.expires_at:
            raise TokenInvalidError("this link or code is no longer valid")

    def use(self, purpose: str, now: datetime, by: UUID | None = None) -> None:
        self.check(purpose, now)
        self._used(by)

    @event("Used", topic="consulta.OneTimeToken.Used")
    def _used(self, by: UUID | None) -> None:
        self.used = True
