"""`consulta worker` and `consulta scheduler` as real processes, on a Redis namespace of their own."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from consulta.settings import Settings


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Fleet:
    """Starts worker and scheduler processes; stops (or kills) them; cleans the namespace."""

    def __init__(self, settings: Settings, redis_url: str, smtp_port: int) -> None:
        self.namespace = f"consulta-test-{secrets.token_hex(4)}"
        self.redis_url = redis_url
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": redis_url,
            "CONSULTA_ENV": "test",
            "CONSULTA_SECRET_KEY": "test",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_STARTTLS": "false",
            "SMTP_FROM": "Cabinet <rdv@cabinet.example>",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, command: str, *args: str) -> subprocess.Popen[bytes]:
        argv = [
            sys.executable,
            "-m",
            "consulta",
            command,
            "--namespace",
            self.namespace,
            "--heartbeat-timeout",
            "2000",
            *args,
        ]
        process = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        return process

    def worker(self, *args: str) -> subprocess.Popen[bytes]:
        return self.start("worker", "--threads", "2", "--retry-backoff", "0.5", *args)

    def scheduler(self, reclaim_after: float = 3.0) -> subprocess.Popen[bytes]:
        return self.start("scheduler", "--reclaim-after", str(reclaim_after))

    def scheduler_with(self, *args: str) -> subprocess.Popen[bytes]:
        return self.start("scheduler", "--reclaim-after", "3.0", *args)

    def flush(self) -> int:
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(f"{self.namespace}*"))
        if keys:
            client.delete(*keys)
        return len(keys)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.flush()


@contextmanager
def fleet(settings: Settings, redis_url: str, smtp_port: int) -> Iterator[Fleet]:
    f = Fleet(settings, redis_url, smtp_port)
    try:
        yield f
    finally:
        f.close()
