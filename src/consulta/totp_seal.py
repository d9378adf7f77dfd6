"""The second factor's TOTP secret, sealed where it is recorded (`Identity.TotpEnabled`).

Recorded form: `v1:` + base64url(`nonce (12) | ciphertext+tag`), AES-256-GCM
(consulta.sealing) under a key derived by HKDF-SHA256 from
`CONSULTA_SECRET_KEY` with its own label (`consulta/totp-secret/v1`, not the
invitations' key), the account id as associated data: a blob copied onto
another account's history does not open. The secret is opened only to check a
code (`verify_totp`); at enrolment the clear secret lives in the web session
until the first right code, then only sealed.

Events recorded before sealing hold the base32 secret itself. Base32 has no
colon, so "no `vN:` prefix" means clear: those accounts keep logging in, and a
new enrolment (or a one-off re-sealing command, docs/security.md) replaces it.

Rotating the key: a seal is always made with `CONSULTA_SECRET_KEY`; opening
tries it, then each key of `CONSULTA_PREVIOUS_SECRET_KEYS` (newest first), so
accounts enrolled under an earlier key keep logging in until
`python -m consulta.totp_reseal` has sealed their secret again under the
current one (docs/security.md, "Rotating the secret key").

A blob that no key opens (a key neither current nor listed as previous, or
bytes moved or altered) raises `SecondFactorKeyError`, a domain error the pages
and the API show in plain words; nothing about the secret or a key is logged.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from consulta.aggregates.errors import DomainError
from consulta.aggregates.identity import TOTP_SEALED_PREFIX
from consulta.sealing import SealError, derive_keys, from_text, open_with_any, seal_bytes, split_keys, to_text

log = logging.getLogger(__name__)
INFO = b"consulta/totp-secret/v1"
KEY_CHANGED = "the server's secret key changed: second factor cannot be checked"


class SecondFactorKeyError(DomainError):
    """The recorded TOTP secret does not open with this server's key; nothing was recorded."""

    code = "second_factor_key_changed"


def is_sealed(recorded: str) -> bool:
    return ":" in recorded  # a clear base32 secret (A-Z, 2-7) never holds one


class TotpSeal:
    def __init__(self, secret_key: str, previous_keys: Sequence[str] = ()) -> None:
        """Seals with `secret_key`; opens with it, then with each of `previous_keys` in turn."""
        self._keys = derive_keys(secret_key, previous_keys, INFO)
        self._key = self._keys[0]

    @classmethod
    def from_env(cls, env: Mapping[str, Any]) -> TotpSeal:
        """From `CONSULTA_SECRET_KEY` in the application's environment (eventsourcing adds os.environ).

        Without one (tests, scripts on an in-memory store) the key is random and
        this process's own: what it seals opens nowhere else. `consulta serve`
        refuses to start without the variable; `consulta dev` keeps one in .consulta/.
        Earlier keys come from `CONSULTA_PREVIOUS_SECRET_KEYS` (whitespace-separated, newest first).
        """
        secret_key = env.get("CONSULTA_SECRET_KEY")
        if not secret_key:
            log.warning("CONSULTA_SECRET_KEY unset: second factors enrolled now open in this process only")
            secret_key = secrets.token_urlsafe(32)
        previous = split_keys(str(env.get("CONSULTA_PREVIOUS_SECRET_KEYS") or ""))
        return cls(str(secret_key), previous)

    def seal(self, account_id: UUID, totp_secret: str) -> str:
        sealed = seal_bytes(self._key, totp_secret.encode(), account_id.bytes)
        return TOTP_SEALED_PREFIX + to_text(sealed)

    def open(self, account_id: UUID, recorded: str) -> str:
        """The clear secret of `account_id`'s recorded one (sealed or, from before sealing, clear)."""
        if not is_sealed(recorded):
            return recorded
        if not recorded.startswith(TOTP_SEALED_PREFIX):
            raise SecondFactorKeyError("the second factor was recorded in a form this server does not know")
        try:
            raw = from_text(recorded[len(TOTP_SEALED_PREFIX) :])
            return open_with_any(self._keys, raw, account_id.bytes).decode()
        except SealError:
            raise SecondFactorKeyError(KEY_CHANGED) from None


_lock = threading.Lock()


def seal_of(app: Any) -> TotpSeal:
    """The application's seal, made once (under a lock: a random fallback key must not be made twice)."""
    with _lock:
        found = app.__dict__.get("_totp_seal")
        if found is None:
            found = app.__dict__["_totp_seal"] = TotpSeal.from_env(app.env)
        return found  # type: ignore[no-any-return]
