"""Sealing a teleconsultation invitation's secrets for the notification worker.

The link token and the access code are never recorded in clear (events keep
their digests), yet the worker composes the invitation later, perhaps after a
retry. So `open_consultation` records them *sealed* in `Consultation.Invited`:
AES-256-GCM under a key derived (HKDF-SHA256) from `CONSULTA_SECRET_KEY`, with
the consultation id as associated data (a blob moved to another consultation
does not open). The worker opens the blob just before sending.

Blob: base64url of `version (1 byte) | nonce (12) | ciphertext+tag`; the AES-GCM
part is consulta.sealing, shared with the TOTP secret. Once the consultation
has ended or its code's validity has passed, the secrets are
worthless, and the read model's copy is erased; the log keeps the sealed blob,
which only the secret key opens.

Rotating the key: invitations are sealed with `CONSULTA_SECRET_KEY` and opened
with it or any key of `CONSULTA_PREVIOUS_SECRET_KEYS`. They are not sealed
again: an invitation is needed only until it is sent or its consultation has
ended, so an earlier key stays listed until the consultations opened before
the change have ended (docs/security.md, "Rotating the secret key").
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from uuid import UUID

from consulta.sealing import (
    DamagedError,
    SealError,
    WrongKeyError,
    derive_key,
    derive_keys,
    from_text,
    open_with_any,
    seal_bytes,
    split_keys,
    to_text,
)

VERSION = 1
INFO = b"consulta/tele-invitation/v1"


def invitation_key(secret: str) -> bytes:
    if not secret:
        raise SealError("no key to seal or open invitations: set CONSULTA_SECRET_KEY")
    return derive_key(secret, INFO)


def seal(secret: str, consultation_id: UUID, code: str, link_token: str) -> str:
    payload = json.dumps({"code": code, "link": link_token}).encode()
    sealed = seal_bytes(invitation_key(secret), payload, consultation_id.bytes)
    return to_text(bytes([VERSION]) + sealed)


def open_sealed(
    secret: str, consultation_id: UUID, blob: str, previous: Sequence[str] = ()
) -> tuple[str, str]:
    """(code, link token), opened with `secret` or else one of the `previous` keys; or SealError."""
    try:
        raw = from_text(blob)
        if not raw or raw[0] != VERSION:
            raise DamagedError("unknown version")
        invitation_key(secret)  # no current key: the plain SealError
        payload = open_with_any(derive_keys(secret, previous, INFO), raw[1:], consultation_id.bytes)
    except DamagedError:
        raise SealError("the sealed invitation is damaged or of an unknown version") from None
    except WrongKeyError:
        raise SealError(
            "the sealed invitation cannot be opened: this worker's CONSULTA_SECRET_KEY differs from the web's"
        ) from None
    data = json.loads(payload)
    return str(data["code"]), str(data["link"])


_lock = threading.Lock()
_in_process: tuple[str, tuple[str, ...]] | None = None


def open_in_this_process(secret: str | None, previous: Sequence[str] = ()) -> None:
    """`consulta dev` and tests: the worker threads open with the web's keys (the current one may be generated)."""
    global _in_process
    with _lock:
        _in_process = (secret, tuple(previous)) if secret else None


def worker_keys() -> tuple[str, tuple[str, ...]]:
    """The keys a worker opens with: the web's own in `consulta dev`, else `CONSULTA_SECRET_KEY` and
    `CONSULTA_PREVIOUS_SECRET_KEYS` (earlier keys, whitespace-separated, newest first)."""
    with _lock:
        found = _in_process
    if found is not None:
        return found
    previous = split_keys(os.environ.get("CONSULTA_PREVIOUS_SECRET_KEYS"))
    return os.environ.get("CONSULTA_SECRET_KEY", ""), previous
