"""Single use of room tokens: a token id (its nonce) is accepted once, then refused until it expires.

With a Redis URL (every deployed media process: `REDIS_URL`), the ids are
shared: `SET consulta:media:token:<nonce> 1 NX PX <remaining life>` admits
the first connection only, whichever process it reaches, and Redis forgets
the id when the token would have expired anyway. Without Redis (`consulta
dev`, one process), an in-process dict does the same.

If Redis cannot be reached the token is refused (fail closed): a replay is
worse than a retry, and the page asks for a fresh token when it retries.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

log = logging.getLogger(__name__)
KEY_PREFIX = "consulta:media:token:"


class UsedTokens(Protocol):
    async def first_use(self, token_id: str, expires: float, now: float) -> bool: ...

    async def close(self) -> None: ...


class MemoryUsedTokens:
    """One process's memory: enough when one process checks every token (`consulta dev`)."""

    def __init__(self) -> None:
        self._used: dict[str, float] = {}  # token id -> expiry

    async def first_use(self, token_id: str, expires: float, now: float) -> bool:
        if len(self._used) > 1000:
            self._used = {t: e for t, e in self._used.items() if e > now}
        if token_id in self._used and self._used[token_id] > now:
            return False
        self._used[token_id] = expires
        return True

    async def close(self) -> None:
        return None


class RedisUsedTokens:
    """Shared by every media process that points at the same Redis."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis: Any = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    async def first_use(self, token_id: str, expires: float, now: float) -> bool:
        remaining_ms = max(1, math.ceil((expires - now) * 1000))
        try:
            created = await self.redis.set(KEY_PREFIX + token_id, b"1", nx=True, px=remaining_ms)
        except Exception as error:  # any Redis failure: refuse rather than risk a replay
            log.warning("token refused: Redis unavailable (%s)", type(error).__name__)
            return False
        return bool(created)

    async def close(self) -> None:
        await self.redis.aclose()


def used_tokens(redis_url: str | None) -> UsedTokens:
    return RedisUsedTokens(redis_url) if redis_url else MemoryUsedTokens()
