"""Room tokens: the web app's short-lived permission to join one media room as one participant.

    token = issue_token(key, room="<consultation id>", participant="<id>", role="patient", now=..., ttl=60)
    claims = TokenVerifier(key).verify(token, now)   # raises TokenRefused

A token is `<payload>.<signature>`, both base64url; the payload is JSON
(room, participant, role, expiry, nonce) and the signature an HMAC-SHA256
with the media key (MEDIA_TOKEN_KEY, else derived from CONSULTA_SECRET_KEY).
A token opens one connection only (a reload asks the web app for a fresh
one): the media service checks its id (the nonce) with media/replay.py, in
Redis when it has one, so a token used on one media process is refused by
every other. `TokenVerifier.verify` alone remembers ids in this process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from dataclasses import dataclass

ROLES = ("patient", "practitioner", "selftest")
MAX_TOKEN_LENGTH = 1024


class TokenRefused(Exception):
    """Forged, expired, replayed or malformed: one answer for all."""


@dataclass(frozen=True)
class Claims:
    room: str
    participant: str
    role: str
    expires: float
    token_id: str = ""


def media_key(secret_key: str, media_token_key: str | None = None) -> bytes:
    if media_token_key:
        return media_token_key.encode()
    return hmac.new(secret_key.encode(), b"consulta media room tokens", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(key: bytes, room: str, participant: str, role: str, now: float, ttl: float = 60) -> str:
    if role not in ROLES:
        raise ValueError("unknown role")
    payload = json.dumps(
        {
            "room": room,
            "participant": participant,
            "role": role,
            "exp": now + ttl,
            "nonce": secrets.token_urlsafe(12),
        },
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


class TokenVerifier:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self._used: dict[str, float] = {}  # nonce -> expiry

    def verify(self, token: str, now: float) -> Claims:
        """Signature, expiry and single use within this verifier."""
        claims = self.read(token, now)
        self._forget_expired(now)
        if claims.token_id in self._used:
            raise TokenRefused("invalid token")
        self._used[claims.token_id] = claims.expires
        return claims

    def read(self, token: str, now: float) -> Claims:
        """Signature and expiry only: the caller checks single use (media/replay.py)."""
        try:
            if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
                raise ValueError
            encoded, _, signature = token.partition(".")
            payload = _unb64(encoded)
            expected = hmac.new(self.key, payload, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise ValueError
            data = json.loads(payload)
            claims = Claims(
                str(data["room"]),
                str(data["participant"]),
                str(data["role"]),
                float(data["exp"]),
                str(data["nonce"]),
            )
        except (ValueError, KeyError, TypeError):
            raise TokenRefused("invalid token") from None
        if claims.role not in ROLES or not now < claims.expires < math.inf or not claims.token_id:
            raise TokenRefused("invalid token")
        return claims

    def _forget_expired(self, now: float) -> None:
        if len(self._used) > 1000:
            self._used = {n: e for n, e in self._used.items() if e > now}
