"""Running Consulta's web and projector processes for the HTTP benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from common import ROOT

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
def consulta_processes(url: str, project: bool = True, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`consulta serve` (uvicorn, one process) and `consulta project`; yields the base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CONSULTA_SECRET_KEY": "bench-secret-key",
        "CONSULTA_ENV": "production",
        "CONSULTA_BASE_URL": f"http://127.0.0.1:{port}",
        **LIMITS,
        **(extra_env or {}),
    }
    env.pop("REDIS_URL", None)
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
