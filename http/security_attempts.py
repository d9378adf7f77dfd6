"""Attempts at secrets (login, password reset, second-factor codes): a per-minute cap and a back-off on failures.

Both count per account and per client address in a shared store (Redis when
`REDIS_URL` is set), so the limits hold across every web process. Keys hold
SHA-256 digests, never an e-mail or an address in clear.

- The per-minute cap (`api_limits.MinuteLimiter`, name `<kind>-rate`) counts
  every attempt, refused ones included.
- The back-off counts failures: after 5 on one account, each further attempt
  must wait 2^(failures - 5) seconds after the last failure, at
  most `MAX_WAIT` seconds (per address: after 50 failures, as a whole practice
  may share one address). A success clears the account's failures; failures
  are forgotten `MEMORY` seconds after the last one.

Use: `wait = await attempt_allowed(request, "login", account=email)`; answer
429 with `Retry-After: wait` when it is not None; after checking the secret,
`await attempt_failed(...)` or `await attempt_succeeded(...)`.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from litestar import Litestar, Request
from litestar.stores.base import Store
from litestar.stores.redis import RedisStore

from consulta.http.api_limits import limiter_of

FREE_FAILURES = {"account": 5, "address": 50}  # an address may be a whole practice behind one NAT
MAX_WAIT = 15 * 60
MEMORY = 3600


def _key(kind: str, subject: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{kind}:{subject}:{digest}"


def backoff_seconds(failures: int, free: int = FREE_FAILURES["account"]) -> int:
    if failures < free:
        return 0
    return int(min(2 ** min(failures - free, 20), MAX_WAIT))


class FailureBackoff:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = asyncio.Lock()

    async def wait(self, kind: str, now: float, subjects: dict[str, str]) -> int | None:
        """Seconds to wait before the next attempt may be checked, or None."""
        longest = 0.0
        for subject, value in subjects.items():
            failures, last = await self._read(_key(kind, subject, value))
            longest = max(longest, last + backoff_seconds(failures, FREE_FAILURES[subject]) - now)
        return int(longest) + 1 if longest > 0 else None

    async def failed(self, kind: str, now: float, subjects: dict[str, str]) -> None:
        for subject, value in subjects.items():
            await self._add(_key(kind, subject, value), now)

    async def succeeded(self, kind: str, subjects: dict[str, str]) -> None:
        for subject, value in subjects.items():
            await self.store.delete(_key(kind, subject, value))

    async def _read(self, key: str) -> tuple[int, float]:
        if isinstance(self.store, RedisStore):
            redis: Any = self.store._redis
            count, last = await redis.hmget(self.store._make_key(key), "n", "last")
            return int(count or 0), float(last or 0)
        raw = await self.store.get(key)
        if not raw:
            return 0, 0.0
        count, last = raw.decode().split()
        return int(count), float(last)

    async def _add(self, key: str, now: float) -> None:
        if isinstance(self.store, RedisStore):
            redis: Any = self.store._redis
            full = self.store._make_key(key)
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(full, "n", 1)
                pipe.hset(full, "last", str(now))
                pipe.expire(full, MEMORY)
                await pipe.execute()
            return
        async with self._lock:
            count, _ = await self._read(key)
            await self.store.set(key, f"{count + 1} {now}".encode(), expires_in=MEMORY)


def backoff_of(app: Litestar) -> FailureBackoff:
    if "attempt_backoff" not in app.state:
        from consulta.http.app import make_store  # app.py imports the routes: import late

        app.state.attempt_backoff = FailureBackoff(make_store(app.state.settings, "attempts"))
    return app.state.attempt_backoff  # type: ignore[no-any-return]


def _subjects(request: Request[Any, Any, Any], account: str) -> dict[str, str]:
    address = request.client.host if request.client else "unknown"
    return {"account": account[:320], "address": address}


def _now(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.services.clock.now()


async def attempt_allowed(request: Request[Any, Any, Any], kind: str, account: str) -> int | None:
    """None when this attempt may check its secret, else the seconds to wait (counts the attempt)."""
    subjects = _subjects(request, account)
    now = _now(request)
    per_minute = request.app.state.settings.login_rate_per_minute
    wait = await limiter_of(request.app, f"{kind}-rate", per_minute).hit(now, **subjects)
    waited = await backoff_of(request.app).wait(kind, now.timestamp(), subjects)
    if wait is None and waited is None:
        return None
    return max(wait or 0, waited or 0)


async def attempt_failed(request: Request[Any, Any, Any], kind: str, account: str) -> None:
    await backoff_of(request.app).failed(kind, _now(request).timestamp(), _subjects(request, account))


async def attempt_succeeded(request: Request[Any, Any, Any], kind: str, account: str) -> None:
    await backoff_of(request.app).succeeded(kind, {"account": account[:320]})
