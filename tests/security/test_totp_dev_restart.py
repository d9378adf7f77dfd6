"""`consulta dev` keeps its secret key across restarts, so an authenticator app set up in dev still logs in.

The real command, twice, in one working folder, without CONSULTA_SECRET_KEY, on a
database of its own (the local PostgreSQL: quicker than the embedded server).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyotp

from consulta.seed import DEMO_PASSWORD, demo_logins
from tests.conftest import create_database, drop_database
from tests.ops.conftest import consulta_argv, free_port


@contextmanager
def dev_running(workdir: Path, database_url: str, log: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULTA_", "DATABASE_", "REDIS_"))}
    env["DATABASE_URL"] = database_url
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(consulta_argv(["consulta", "dev", "--port", str(port)]), cwd=workdir,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"consulta dev exited:\n{log.read_text()}"
            try:
                if httpx.get(origin + "/healthz", timeout=3).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "consulta dev did not answer"
            time.sleep(0.3)
        yield origin
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def post(client: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    return client.post(url, data={**data, "_csrf_token": client.cookies["csrftoken"]})


def log_in(origin: str, email: str, key: str | None, step: int) -> tuple[httpx.Response, str]:
    """Password, then the code of `key` (or of the key the first login shows) at time step `step`."""
    with httpx.Client(base_url=origin, follow_redirects=False) as client:
        client.get("/")
        assert post(client, "/login", {"email": email, "password": DEMO_PASSWORD}).status_code == 303
        shown = re.search(
            r'id="totp-key" readonly value="([A-Z2-7]+)"', client.get("/login/second-factor").text
        )
        key = shown.group(1) if shown else key
        assert key, "no authenticator key shown and none known"
        return post(client, "/login/code", {"code": pyotp.TOTP(key).at(step * 30)}), key


def test_an_authenticator_set_up_in_dev_still_logs_in_after_a_restart(admin_url: str, tmp_path: Path) -> None:
    database_url = create_database(admin_url, "consulta_dev_totp")
    log = tmp_path / "dev.log"
    email = next(login.email for login in demo_logins() if login.role == "practitioner")
    try:
        with dev_running(tmp_path, database_url, log) as origin:
            # The code of the step before now (accepted, one step of drift); the code at the second
            # login must be of a later step, or it would be refused as a replay.
            first_step = int(time.time()) // 30 - 1
            first, key = log_in(origin, email, None, first_step)  # the first login sets the app up
            assert first.status_code == 303, first.text
        kept = (tmp_path / ".consulta" / "secret_key").read_text()
        with dev_running(tmp_path, database_url, log) as origin:
            again, _ = log_in(origin, email, key, max(int(time.time()) // 30, first_step + 1))
            assert again.status_code == 303 and again.headers["location"] != "/login", again.status_code
        assert (tmp_path / ".consulta" / "secret_key").read_text() == kept
        assert kept.strip() not in log.read_text(), "the key was printed"
    finally:
        drop_database(admin_url, database_url)
