"""Media settings, from the environment (docs/teleconsultation.md lists them).

Offline by default: no ICE server at all, so neither the media service nor
the browser contacts a public STUN server. TURN credentials are the
time-limited kind coturn checks with `use-auth-secret`: the user name is
`<expiry>:<participant>` and the password the base64 HMAC-SHA1 of that name
with the shared secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .tokens import media_key


def parse_port_range(text: str) -> tuple[int, int]:
    """`40000-40099` -> (40000, 40099); anything else is a clear error."""
    low, sep, high = text.strip().partition("-")
    if not (sep and low.strip().isdigit() and high.strip().isdigit()):
        raise ValueError(f"MEDIA_UDP_PORTS must read FIRST-LAST, e.g. 40000-40099, not {text!r}")
    first, last = int(low), int(high)
    if not 1024 <= first <= last <= 65535:
        raise ValueError(f"MEDIA_UDP_PORTS must be a range within 1024-65535, not {text!r}")
    return first, last


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value.strip().lower() in ("true", "1", "yes")


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _from_process() -> dict[str, str]:
    """The variables of this process, each named literally (docs/configuration.md is checked against them)."""
    found = {
        "MEDIA_TOKEN_KEY": os.environ.get("MEDIA_TOKEN_KEY"),
        "MEDIA_ALLOWED_ORIGINS": os.environ.get("MEDIA_ALLOWED_ORIGINS"),
        "MEDIA_STUN_URLS": os.environ.get("MEDIA_STUN_URLS"),
        "MEDIA_TURN_URLS": os.environ.get("MEDIA_TURN_URLS"),
        "MEDIA_TURN_SECRET": os.environ.get("MEDIA_TURN_SECRET"),
        "MEDIA_MAX_PEERS": os.environ.get("MEDIA_MAX_PEERS"),
        "MEDIA_RELAY_ONLY": os.environ.get("MEDIA_RELAY_ONLY"),
        "MEDIA_UDP_PORTS": os.environ.get("MEDIA_UDP_PORTS"),
        "REDIS_URL": os.environ.get("REDIS_URL"),
    }
    return {name: value for name, value in found.items() if value}


@dataclass(frozen=True)
class MediaConfig:
    key: bytes = field(repr=False)
    allowed_origins: tuple[str, ...] = ()
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl_seconds: int = 3600
    token_ttl_seconds: int = 60
    max_peers: int = 200
    relay_only: bool = False  # the service's own peers use TURN relay candidates only
    udp_ports: tuple[int, int] | None = None  # the UDP range the deployment publishes (checked at start)
    redis_url: str | None = field(default=None, repr=False)  # shared single use of room tokens

    @classmethod
    def from_env(
        cls, secret_key: str, base_url: str, environ: dict[str, str] | None = None, **overrides: Any
    ) -> MediaConfig:
        env = _from_process() if environ is None else dict(environ)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
        values: dict[str, Any] = {
            "key": media_key(secret_key, env.get("MEDIA_TOKEN_KEY")),
            "allowed_origins": (origin, *_list(env.get("MEDIA_ALLOWED_ORIGINS"))),
            "stun_urls": _list(env.get("MEDIA_STUN_URLS")),
            "turn_urls": _list(env.get("MEDIA_TURN_URLS")),
            "turn_secret": env.get("MEDIA_TURN_SECRET") or None,
        }
        if env.get("MEDIA_MAX_PEERS"):
            values["max_peers"] = int(env["MEDIA_MAX_PEERS"])
        if env.get("MEDIA_RELAY_ONLY"):
            values["relay_only"] = _flag("MEDIA_RELAY_ONLY", env["MEDIA_RELAY_ONLY"])
        if env.get("MEDIA_UDP_PORTS"):
            values["udp_ports"] = parse_port_range(env["MEDIA_UDP_PORTS"])
        if env.get("REDIS_URL"):
            values["redis_url"] = env["REDIS_URL"]
        values.update(overrides)
        config = cls(**values)
        if config.relay_only and not (config.turn_urls and config.turn_secret):
            raise ValueError("MEDIA_RELAY_ONLY needs MEDIA_TURN_URLS and MEDIA_TURN_SECRET")
        return config

    def ice_servers(self, participant: str, now: float) -> list[dict[str, Any]]:
        """What a browser's RTCPeerConnection gets: STUN, and TURN with credentials valid `turn_ttl_seconds`."""
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls and self.turn_secret:
            username = f"{int(now) + self.turn_ttl_seconds}:{participant}"
            digest = hmac.new(self.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
            servers.append(
                {
                    "urls": list(self.turn_urls),
                    "username": username,
                    "credential": base64.b64encode(digest).decode(),
                }
            )
        return servers
