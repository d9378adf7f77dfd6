"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from consulta.aggregates.errors import InvalidInputError

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown e-mail
# close to that of a wrong password.
_DUMMY_HASH = _hasher.hash("consulta-dummy-password")


def check_strength(password: str) -> None:
    if not 10 <= len(password) <= 256:
        raise InvalidInputError("a password has 10 to 256 characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
