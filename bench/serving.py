"""Running Consulta's web and projector processes for the HTTP benchmarks."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from common import ROOT, percentile

LIMITS = {
    # Rate limits are settings: raised so the load is measured, not refused.
    "CONSULTA_LOGIN_RATE_PER_MINUTE": "1000000",
    "CONSULTA_BOOKING_RATE_PER_MINUTE": "1000000",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def consulta_processes(
    url: str, project: bool = True, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """`consulta serve` (uvicorn, one process) and `consulta project`; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONSULTA_SECRET_KEY": "bench-secret",  # the key of bench_settings (common.py)
        "CONSULTA_ENV": "production",
        "CONSULTA_BASE_URL": f"http://127.0.0.1:{port}",
        **LIMITS,
        **(extra_env or {}),
    }
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")  # production needs shared sessions
    consulta = str(ROOT / ".venv/bin/consulta")
    procs = [subprocess.Popen([consulta, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)]
    if project:
        procs.append(subprocess.Popen([consulta, "project"], env=env, stdout=subprocess.DEVNULL))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError("the web process did not start")
            time.sleep(0.2)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def load(
    base: str, concurrency: int, seconds: float, make_request: Any, cookies: Any = None
) -> dict[str, Any]:
    """`concurrency` clients send requests for `seconds`: requests/s, p50 and p99 latency, statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, cookies=cookies) as client:
        end = time.monotonic() + seconds

        async def worker(i: int) -> None:
            while time.monotonic() < end:
                started = time.monotonic()
                response = await make_request(client, i)
                latencies.append(time.monotonic() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.monotonic() - started
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "statuses": statuses,
    }
