"""Login attempts: a per-minute cap and a back-off on failures, per account and per address, across processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis

from consulta.settings import Settings
from tests.factories import make_patient
from tests.security.helpers import PASSWORD, client_for, log_in, on_clock, post_form


async def test_page_login_backs_off_after_failures_and_a_success_clears_them(
    settings: Settings,
    services,  # type: ignore[no-untyped-def]
) -> None:
    timed, clock = on_clock(services, datetime(2031, 3, 3, 8, 0, tzinfo=UTC))
    _, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, timed) as client:
        for _ in range(5):
            assert (await log_in(client, email, "wrong password!")).status_code == 401
        refused = await log_in(client, email)  # even the right password waits
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "Trop de tentatives" in refused.text
        waits = []
        for _ in range(3):
            clock.advance(seconds=61)  # past the back-off and the minute window
            assert (await log_in(client, email, "wrong password!")).status_code == 401
            refused = await log_in(client, email)
            assert refused.status_code == 429
            waits.append(int(refused.headers["retry-after"]))
        assert waits == sorted(waits) and waits[-1] >= 2 * waits[0], "the wait grows with the failures"
        clock.advance(seconds=120)
        assert (await log_in(client, email)).status_code == 303
        clock.advance(seconds=61)
        assert (await log_in(client, email, "wrong password!")).status_code == 401
        assert (await log_in(client, email)).status_code == 303, "the success cleared the failures"


async def test_page_login_is_capped_per_minute_per_address(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    timed, clock = on_clock(services, datetime(2031, 3, 3, 8, 0, 5, tzinfo=UTC))
    async with client_for(settings, timed) as client:
        answers = [
            (await log_in(client, f"nobody-{i}@example.org", "wrong password!")).status_code
            for i in range(12)
        ]
        assert answers[: settings.login_rate_per_minute] == [401] * settings.login_rate_per_minute
        assert set(answers[settings.login_rate_per_minute :]) == {429}
        clock.advance(seconds=60)
        assert (await log_in(client, "nobody-else@example.org", "wrong password!")).status_code == 401


async def test_second_factor_codes_back_off_across_logins(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    from tests.accounts.principals import patient, totp_code

    someone = patient(services, services.clock.now(), "patient", "Cora", "Codes")
    async with client_for(settings, services) as client:

        async def password() -> None:
            first = await log_in(client, someone.email)  # type: ignore[arg-type]
            assert first.status_code == 303 and first.headers["location"] == "/login/second-factor"

        await password()
        for _ in range(4):
            assert (await post_form(client, "/login/code", {"code": "000000"})).status_code == 401
        assert (
            await post_form(client, "/login/code", {"code": "000000"})
        ).status_code == 401  # 5th: log in again
        await password()  # a new login does not give new free tries
        refused = await post_form(client, "/login/code", {"code": totp_code(someone.totp_secret)})  # type: ignore[arg-type]
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        time.sleep(int(refused.headers["retry-after"]) + 0.2)
        passed = await post_form(client, "/login/code", {"code": totp_code(someone.totp_secret)})  # type: ignore[arg-type]
        assert passed.status_code == 303 and passed.headers["location"] != "/login"


async def test_password_reset_requests_are_capped(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    # A clock of its own, well inside one minute: the cap counts per fixed minute, and twelve requests
    # made across a minute boundary (real time) would count in two windows.
    timed, _clock = on_clock(services, datetime(2031, 3, 5, 9, 0, 5, tzinfo=UTC))
    _, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, timed) as client:
        answers = [
            (await post_form(client, "/password/forgot/send", {"email": email})).status_code
            for _ in range(12)
        ]
    cap = settings.login_rate_per_minute
    assert answers[:cap] == [200] * cap and set(answers[cap:]) == {429}, answers


# -- two real web processes sharing one Redis ----------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_servers(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    isolated = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: the address counters start at 0
    redis.Redis.from_url(isolated).flushdb()
    logs = tmp_path_factory.mktemp("two-servers")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": isolated,
        "CONSULTA_SECRET_KEY": "two-servers-secret",
        "CONSULTA_ENV": "production",
    }
    consulta = str(Path(sys.executable).with_name("consulta"))
    processes, urls = [], []
    for n in range(2):
        port = _free_port()
        with (logs / f"web{n}.log").open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [consulta, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
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
                if time.monotonic() > deadline:
                    pytest.fail(
                        "the web processes did not start: " + " ".join(p.read_text() for p in logs.iterdir())
                    )
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
def test_limits_hold_across_two_web_processes(two_servers: list[str], services) -> None:  # type: ignore[no-untyped-def]
    _, _, email = make_patient(services.app, services.clock.now())

    def login(n: int, password: str) -> httpx.Response:
        return httpx.post(
            two_servers[n % 2] + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=10
        )

    assert [login(n, "wrong password!").status_code for n in range(5)] == [401] * 5
    refused = login(5, PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    assert login(6, PASSWORD).status_code == 429, "the other process refuses too"
    time.sleep(int(refused.headers["retry-after"]) + 0.5)
    assert login(7, PASSWORD).status_code == 200

    # The per-minute cap per address: attempts on other accounts, alternating processes,
    # all inside one minute window (the limiter's windows are whole minutes).
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    answers = [
        httpx.post(
            two_servers[n % 2] + "/api/v1/auth/login",
            json={"email": f"nobody-{n}@example.org", "password": "wrong password!"},
            timeout=10,
        ).status_code
        for n in range(12)
    ]
    assert answers.count(401) <= 10 and answers[-2:] == [429, 429], answers
