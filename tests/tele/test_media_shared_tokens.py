"""Room tokens are single use across media processes when they share Redis; per process without it."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator

import pytest
import redis

from consulta.media.config import MediaConfig
from consulta.media.replay import KEY_PREFIX, MemoryUsedTokens, RedisUsedTokens
from consulta.media.tokens import issue_token
from tests.tele.conftest import ORIGIN, MediaServer, free_port, serve_media
from tests.tele.media_client import Participant

KEY = b"shared-tokens-test-key"


@pytest.fixture
def two_services(redis_url: str) -> Iterator[tuple[MediaServer, MediaServer]]:
    """Two media services (each its own uvicorn, loop and memory) on the same Redis."""
    config = MediaConfig(key=KEY, allowed_origins=(ORIGIN,), redis_url=redis_url)
    first, server_a, thread_a = serve_media(config)
    second, server_b, thread_b = serve_media(config)
    yield first, second
    for server, thread in ((server_a, thread_a), (server_b, thread_b)):
        server.should_exit = True
        thread.join(timeout=10)


async def outcome(media: MediaServer, token: str) -> str:
    participant = Participant(media.url, ORIGIN)
    try:
        ready = await participant.join(token)
    except RuntimeError as error:
        return str(error)
    finally:
        await participant.close()
    return str(ready["type"])


def token_id(token: str) -> str:
    payload = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["nonce"])


def test_a_token_used_on_one_media_process_is_refused_on_the_other(
    two_services: tuple[MediaServer, MediaServer], redis_url: str
) -> None:
    first, second = two_services
    token = issue_token(KEY, "room-shared", "patient-1", "patient", time.time(), 30)
    fresh = issue_token(KEY, "room-shared", "patient-1", "patient", time.time(), 30)

    assert asyncio.run(outcome(first, token)) == "ready"
    ttl_ms = redis.Redis.from_url(redis_url).pttl(KEY_PREFIX + token_id(token))
    assert 0 < ttl_ms <= 30_000  # Redis forgets the id when the token would have expired anyway
    assert asyncio.run(outcome(second, token)) == "token refused"
    assert asyncio.run(outcome(first, token)) == "token refused"
    assert asyncio.run(outcome(second, fresh)) == "ready"  # a fresh token for the same room still works


def test_without_redis_each_process_remembers_only_its_own_tokens() -> None:
    """What `consulta dev` has (one process); why deployments set REDIS_URL for the media service."""

    async def scenario() -> list[bool]:
        one, other = MemoryUsedTokens(), MemoryUsedTokens()
        return [
            await one.first_use("t-1", expires=160, now=100),
            await one.first_use("t-1", expires=160, now=101),
            await other.first_use("t-1", expires=160, now=102),
            await one.first_use("t-1", expires=160, now=161),  # expired: the signature check refuses it first
        ]

    assert asyncio.run(scenario()) == [True, False, True, True]


def test_tokens_are_refused_while_redis_cannot_be_reached() -> None:
    async def scenario() -> bool:
        unreachable = RedisUsedTokens(f"redis://127.0.0.1:{free_port()}/0")
        try:
            return await unreachable.first_use("t-2", expires=time.time() + 30, now=time.time())
        finally:
            await unreachable.close()

    assert asyncio.run(scenario()) is False


def test_the_media_service_reads_the_redis_url_from_the_environment() -> None:
    env = {"REDIS_URL": "redis://redis:6379/0", "MEDIA_UDP_PORTS": "40000-40099"}
    config = MediaConfig.from_env("secret", "https://consulta.example.org", environ=env)
    assert config.redis_url == "redis://redis:6379/0"
    assert config.udp_ports == (40000, 40099)
    assert "redis" not in repr(config)  # the URL may hold a password
    for bad in ("40000", "40099-40000", "80-90", "a-b"):
        with pytest.raises(ValueError, match="MEDIA_UDP_PORTS"):
            MediaConfig.from_env("secret", "https://x.org", environ={"MEDIA_UDP_PORTS": bad})
    with pytest.raises(ValueError, match="MEDIA_RELAY_ONLY needs"):
        MediaConfig.from_env("secret", "https://x.org", environ={"MEDIA_RELAY_ONLY": "true"})
