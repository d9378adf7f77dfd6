"""Sealing a teleconsultation invitation's secrets for the notification worker.

The link token and the access code are never recorded in clear (events keep
their digests), yet the worker composes the invitation later, perhaps after a
retry. So `open_consultation` records them *sealed* in `Consultation.Invited`:
AES-256-GCM under a key derived (HKDF-SHA256) from `CONSULTA_SECRET_KEY`, with
the consultation id as associated data (a blob moved to another consultation
does not open). The worker opens the blob just before sending.

Blob: base64url of `version (1 byte) | nonce (12) | ciphertext+tag`. Once the
consultation has ended or its code's validity has passed, the secrets are
worthless, and the read model's copy is erased; the log keeps the sealed blob,
which only the secret key opens (rotating the key makes old blobs unopenable).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
INFO = b"consulta/tele-invitation/v1"


class SealError(Exception):
    """A blob that cannot be opened: a key other than the sealer's, or damaged data. Says no secret."""


def invitation_key(secret: str) -> bytes:
    if not secret:
        raise SealError("no key to seal or open invitations: set CONSULTA_SECRET_KEY")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret.encode())


def seal(secret: str, consultation_id: UUID, code: str, link_token: str) -> str:
    nonce = os.urandom(12)
    payload = json.dumps({"code": code, "link": link_token}).encode()
    sealed = AESGCM(invitation_key(secret)).encrypt(nonce, payload, consultation_id.bytes)
    return base64.urlsafe_b64encode(bytes([VERSION]) + nonce + sealed).decode()


def open_sealed(secret: str, consultation_id: UUID, blob: str) -> tuple[str, str]:
    """(code, link token), or SealError."""
    try:
        raw = base64.urlsafe_b64decode(blob.encode())
    except (binascii.Error, ValueError):
        raise SealError("the sealed invitation is damaged") from None
    if len(raw) < 1 + 12 + 16 or raw[0] != VERSION:
        raise SealError("the sealed invitation is damaged or of an unknown version")
    try:
        payload = AESGCM(invitation_key(secret)).decrypt(raw[1:13], raw[13:], consultation_id.bytes)
    except InvalidTag:
        raise SealError(
            "the sealed invitation cannot be opened: this worker's CONSULTA_SECRET_KEY differs from the web's"
        ) from None
    data = json.loads(payload)
    return str(data["code"]), str(data["link"])


_lock = threading.Lock()
_in_process: str | None = None


def open_in_this_process(secret: str | None) -> None:
    """`consulta dev` and tests: the worker threads open with the web's key (which may be generated)."""
    global _in_process
    with _lock:
        _in_process = secret


def worker_secret() -> str:
    """The key a worker opens with: the web's own in `consulta dev`, else `CONSULTA_SECRET_KEY`."""
    with _lock:
        found = _in_process
    return found or os.environ.get("CONSULTA_SECRET_KEY", "")
