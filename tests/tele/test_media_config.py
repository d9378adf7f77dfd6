"""ICE servers from settings: none offline (no public STUN), TURN with time-limited credentials coturn checks."""

from __future__ import annotations

import base64
import hashlib
import hmac

from consulta.media.config import MediaConfig
from consulta.media.tokens import TokenRefused, TokenVerifier, issue_token, media_key


def test_offline_there_is_no_ice_server_at_all() -> None:
    config = MediaConfig.from_env("secret", "http://127.0.0.1:8000", environ={})
    assert config.ice_servers("p-1", 1_000_000) == []
    assert config.allowed_origins == ("http://127.0.0.1:8000",)


def test_turn_credentials_expire_and_verify_like_coturn_use_auth_secret() -> None:
    env = {"MEDIA_STUN_URLS": "stun:turn.example.org:3478", "MEDIA_TURN_URLS": "turn:turn.example.org:3478?transport=udp",
           "MEDIA_TURN_SECRET": "shared", "MEDIA_ALLOWED_ORIGINS": "https://consulta.example.org"}  # fmt: skip
    config = MediaConfig.from_env("secret", "https://consulta.example.org", environ=env)
    stun, turn = config.ice_servers("p-1", 1_000_000)
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["username"] == f"{1_000_000 + 3600}:p-1"
    expected = base64.b64encode(
        hmac.new(b"shared", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected


def test_the_media_key_is_dedicated_or_derived_never_the_secret_itself() -> None:
    assert media_key("secret", "dedicated") == b"dedicated"
    derived = media_key("secret")
    assert derived != b"secret" and len(derived) == 32
    verifier = TokenVerifier(derived)
    token = issue_token(derived, "room", "p", "patient", now=100, ttl=60)
    assert verifier.verify(token, 150).room == "room"
    for bad in (token, token[:-2] + "AA", "x.y", "", "a" * 5000):
        try:
            TokenVerifier(derived).verify(bad, 150) if bad != token else verifier.verify(bad, 150)
        except TokenRefused:
            continue
        raise AssertionError(f"accepted {bad[:20]!r}")
