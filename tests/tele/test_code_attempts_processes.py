"""Access-code attempts are limited per address across web processes (two `consulta serve` sharing one Redis)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.tele.conftest import free_port


@pytest.fixture(scope="module")
def two_web_processes(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    isolated = redis_url.rsplit("/", 1)[0] + "/9"  # a database of its own: the counters start at 0
    redis.Redis.from_url(isolated).flushdb()
    logs = tmp_path_factory.mktemp("tele-two-web")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": isolated,
        "CONSULTA_SECRET_KEY": "tele-two-web-secret",
        "CONSULTA_ENV": "production",
    }
    consulta = str(Path(sys.executable).with_name("consulta"))
    processes, urls = [], []
    for n in range(2):
        port = free_port()
        with (logs / f"web{n}.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [consulta, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )  # fmt: skip
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, " ".join(p.read_text() for p in logs.iterdir())
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.slow
def test_wrong_codes_on_either_process_count_together(two_web_processes: list[str]) -> None:
    first = httpx.get(two_web_processes[0] + "/join")
    token = first.cookies["__Host-csrftoken"]  # a Secure cookie: sent by hand over plain HTTP here

    def attempt(n: int) -> httpx.Response:
        return httpx.post(
            two_web_processes[n % 2] + "/join/code",
            data={"code": "AAAAA-AAAAA", "_csrf_token": token},
            headers={"cookie": f"__Host-csrftoken={token}"},
            timeout=10,
        )

    statuses = [attempt(n).status_code for n in range(5)]
    assert statuses == [400] * 5
    refused = attempt(5)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert attempt(6).status_code == 429, "the other process refuses too"
