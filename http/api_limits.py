"""Login attempts per minute, per client address and per account.

Counters live in a Litestar store: Redis when `REDIS_URL` is set, so every
web process counts together (an atomic INCR there), memory in dev and tests.
Keys hold SHA-256 digests, never an address or an e-mail in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from litestar.stores.base import Store
from litestar.stores.redis import RedisStore

WINDOW_SECONDS = 60


class LoginLimiter:
    def __init__(self, store: Store, per_minute: int) -> None:
        self.store = store
        self.per_minute = per_minute
        self._lock = asyncio.Lock()

    @staticmethod
    def _key(kind: str, value: str, window: int) -> str:
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        return f"login:{kind}:{digest}:{window}"

    async def attempt(self, address: str, email: str, now: datetime) -> int | None:
        """Count one attempt; None when allowed, else the seconds to wait (for Retry-After).

        Fixed one-minute windows: every attempt counts, refused ones included,
        so hammering does not reopen the door before the window ends.
        """
        stamp = int(now.timestamp())
        window = stamp // WINDOW_SECONDS
        counts = [
            await self._incr(self._key("address", address, window)),
            await self._incr(self._key("account", email, window)),
        ]
        if max(counts) > self.per_minute:
            return WINDOW_SECONDS - stamp % WINDOW_SECONDS
        return None

    async def _incr(self, key: str) -> int:
        if isinstance(self.store, RedisStore):
            redis: Any = self.store._redis
            full = self.store._make_key(key)
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(full)
                pipe.expire(full, WINDOW_SECONDS * 2)
                count, _ = await pipe.execute()
            return int(count)
        async with self._lock:
            raw = await self.store.get(key)
            count = int(raw or b"0") + 1
            await self.store.set(key, str(count).encode(), expires_in=WINDOW_SECONDS * 2)
            return count
