"""Requests per minute: login attempts (per client address and per account), bookings (per account).

Counters live in a Litestar store: Redis when `REDIS_URL` is set, so every
web process counts together (an atomic INCR there), memory in dev and tests.
Keys hold SHA-256 digests, never an address or an e-mail in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from litestar import Litestar
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore

WINDOW_SECONDS = 60


class MinuteLimiter:
    def __init__(self, store: Store, per_minute: int) -> None:
        self.store = store
        self.per_minute = per_minute
        self._lock = asyncio.Lock()

    @staticmethod
    def _key(kind: str, value: str, window: int) -> str:
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        return f"{kind}:{digest}:{window}"

    async def hit(self, now: datetime, **subjects: str) -> int | None:
        """Count one request for each subject; None when allowed, else the seconds to wait (Retry-After).

        Fixed one-minute windows: every request counts, refused ones included,
        so hammering does not reopen the door before the window ends.
        """
        stamp = int(now.timestamp())
        window = stamp // WINDOW_SECONDS
        counts = await self._incr_all([self._key(kind, value, window) for kind, value in subjects.items()])
        if max(counts, default=0) > self.per_minute:
            return WINDOW_SECONDS - stamp % WINDOW_SECONDS
        return None

    async def _incr_all(self, keys: list[str]) -> list[int]:
        """Count one hit on every key at once, so concurrent requests rank alike on all of them."""
        if isinstance(self.store, RedisStore):
            redis: Any = self.store._redis
            async with redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    full = self.store._make_key(key)
                    pipe.incr(full)
                    pipe.expire(full, WINDOW_SECONDS * 2)
                results = await pipe.execute()
            return [int(count) for count in results[::2]]
        async with self._lock:
            counts = []
            for key in keys:
                raw = await self.store.get(key)
                count = int(raw or b"0") + 1
                await self.store.set(key, str(count).encode(), expires_in=WINDOW_SECONDS * 2)
                counts.append(count)
            return counts


def limiter_of(app: Litestar, name: str, per_minute: int) -> MinuteLimiter:
    """One limiter per application and name, made on first use (store namespace `consulta:<name>`)."""
    limiters: dict[str, MinuteLimiter] = app.state.setdefault("rate_limiters", {})
    if name not in limiters:
        from consulta.http.app import make_store  # app.py imports the routes: import late

        limiters[name] = MinuteLimiter(make_store(app.state.settings, name), per_minute)
    return limiters[name]
