"""Sealing small secrets at rest: AES-256-GCM under a key derived from `CONSULTA_SECRET_KEY`.

Shared by the teleconsultation invitation (consulta.invitation_seal) and the
second factor's TOTP secret (consulta.totp_seal). Each use derives its own key
with HKDF-SHA256 and its own `info` label, so a blob of one kind never opens
as another. Every seal takes a fresh random 96-bit nonce and binds
*associated data* (the id of what the blob belongs to): a blob copied onto
another consultation or account fails authentication like a wrong key does.

`seal_bytes` returns `nonce (12) | ciphertext+tag`; callers add their own
version marker and text encoding. Errors say what failed, never the secret.

Rotation: sealing always uses the current key (`CONSULTA_SECRET_KEY`);
opening tries it first, then each earlier key of
`CONSULTA_PREVIOUS_SECRET_KEYS` (`open_with_any`), so a blob sealed before a
change of key still opens until it is sealed again (consulta.totp_reseal) or
no longer needed. A blob that opens with none of them fails as a wrong key does.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
TAG_BYTES = 16


class SealError(Exception):
    """A blob that cannot be opened: a key other than the sealer's, or damaged data. Says no secret."""


class NoKeyError(SealError):
    """No secret to derive a key from."""


class DamagedError(SealError):
    """Not a blob this code wrote: bad encoding, too short, unknown version."""


class WrongKeyError(SealError):
    """Authentication failed: another key, another owner (associated data), or altered bytes."""


def derive_key(secret: str, info: bytes) -> bytes:
    """A 256-bit key for one use (`info`), from the deployment's secret."""
    if not secret:
        raise NoKeyError("no secret key: set CONSULTA_SECRET_KEY")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def seal_bytes(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


def open_bytes(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise DamagedError("the sealed data is damaged")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
    except InvalidTag:
        raise WrongKeyError("the sealed data cannot be opened with this key") from None


def derive_keys(secret: str, previous: Sequence[str], info: bytes) -> tuple[bytes, ...]:
    """The current key, then each earlier one (repeats and the current one left out), for one use."""
    earlier = [derive_key(k, info) for k in dict.fromkeys(previous) if k and k != secret]
    return (derive_key(secret, info), *earlier)


def open_with_any(keys: Sequence[bytes], sealed: bytes, associated: bytes) -> bytes:
    """Opened with the first of `keys` (the current key, then earlier ones) that authenticates it."""
    for key in keys:
        try:
            return open_bytes(key, sealed, associated)
        except WrongKeyError:
            continue
    raise WrongKeyError("the sealed data cannot be opened with this key")


def split_keys(text: str | None) -> tuple[str, ...]:
    """`CONSULTA_PREVIOUS_SECRET_KEYS`: keys separated by whitespace (spaces, newlines), newest first.

    Whitespace never belongs to a key here: `secrets.token_urlsafe` keys have none. Repeats are dropped.
    """
    return tuple(dict.fromkeys((text or "").split()))


def to_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def from_text(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        raise DamagedError("the sealed data is damaged") from None
