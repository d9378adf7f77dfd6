"""The compose services' commands, run for real as separate processes.

`migrate`, `web` and `projector` start from compose.yaml's commands and
environment, pointed at the test database and the machine's Redis (the web
listens on loopback and a free port instead of 0.0.0.0:8000). A practitioner
recorded here reaches the web's directory only through the projector process;
a booking made over the web's API shows up in the patient's list and in the
agenda the same way.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from consulta.application import Consulta
from consulta.settings import Settings
from tests.factories import make_practitioner
from tests.ops.conftest import consulta_argv, free_port, process_env, with_option

pytestmark = pytest.mark.slow
SECRET = "ops-test-secret-" + secrets.token_hex(8)


@dataclass
class Deployment:
    url: str
    web: subprocess.Popen[bytes]
    projector: subprocess.Popen[bytes]
    heartbeat: Path
    logs: Path

    def output(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.logs.glob("*.log")
        )


def wait_until(
    check: Callable[[], Any], timeout: float, what: str, deployment: Deployment | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (httpx.HTTPError, OSError):
            found = None
        if found:
            return found
        time.sleep(0.2)
    details = deployment.output() if deployment else ""
    pytest.fail(f"timed out waiting for {what}\n{details}")


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            return -9
    return process.returncode


@pytest.fixture(scope="module")
def overrides(database_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "CONSULTA_SECRET_KEY": SECRET}


@pytest.fixture(scope="module")
def deployment(
    compose: dict[str, Any], overrides: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    services = compose["services"]
    logs = tmp_path_factory.mktemp("deployment")
    migrate = subprocess.run(
        consulta_argv(services["migrate"]["command"]),
        env=process_env(services["migrate"], **overrides),
        capture_output=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stdout.decode() + migrate.stderr.decode()

    port = free_port()
    web_argv = with_option(consulta_argv(services["web"]["command"]), "--host", "127.0.0.1")
    web_argv = with_option(web_argv, "--port", str(port))
    heartbeat = logs / "projector.alive"
    projector_argv = with_option(
        consulta_argv(services["projector"]["command"]), "--heartbeat", str(heartbeat)
    )
    web = start(web_argv, process_env(services["web"], **overrides), logs / "web.log")
    projector = start(projector_argv, process_env(services["projector"], **overrides), logs / "projector.log")
    found = Deployment(f"http://127.0.0.1:{port}", web, projector, heartbeat, logs)
    try:
        wait_until(lambda: httpx.get(f"{found.url}/healthz", timeout=2).status_code == 200, 60, "web", found)
        yield found
    finally:
        stop(web)
        stop(projector)


def test_web_answers_health_and_readiness(deployment: Deployment) -> None:
    assert httpx.get(f"{deployment.url}/healthz").json()["status"] == "alive"
    ready = httpx.get(f"{deployment.url}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["database"] == "ok"
    assert {"agenda", "patient_appointments", "practitioner_directory"} <= set(body["projection_lag"])


def test_the_compose_health_checks_pass_against_the_running_processes(
    compose: dict[str, Any], deployment: Deployment
) -> None:
    port = deployment.url.rsplit(":", 1)[1]
    web_check = [
        a.replace(":8000/", f":{port}/") for a in compose["services"]["web"]["healthcheck"]["test"][1:]
    ]
    web_check[0] = sys.executable if web_check[0] == "python" else web_check[0]
    assert subprocess.run(web_check, timeout=30).returncode == 0
    projector_check = compose["services"]["projector"]["healthcheck"]["test"][1:]
    projector_check = [
        a.replace("/tmp/consulta-projector.alive", str(deployment.heartbeat)) for a in projector_check
    ]
    projector_check[0] = sys.executable
    wait_until(deployment.heartbeat.exists, 10, "the projector's heartbeat", deployment)
    assert subprocess.run(projector_check, timeout=30).returncode == 0


def test_a_booking_over_the_web_api_reaches_the_read_models_through_the_projector(
    deployment: Deployment, database_url: str
) -> None:
    now = datetime.now(UTC)
    app = Consulta(env=Settings(database_url=database_url, secret_key="x").eventsourcing_env())
    try:
        practitioner_id, _, _ = make_practitioner(app, now, name="Dr Ops Process", city="Lille")
    finally:
        app.close()
    api = httpx.Client(base_url=f"{deployment.url}/api/v1", timeout=20)

    # Only the projector process writes the directory the web reads.
    card = wait_until(
        lambda: (r := api.get(f"/practitioners/{practitioner_id}")).status_code == 200 and r.json(),
        20,
        "the practitioner in the directory",
        deployment,
    )
    assert card["city"] == "Lille"

    email = f"ops-{secrets.token_hex(4)}@example.org"
    password = "correct horse battery"
    registered = api.post(
        "/auth/register",
        json={
            "email": email,
            "password": password,
            "first_name": "Odile",
            "last_name": "Perrin",
            "birth_date": "1990-04-02",
        },
    )
    assert registered.status_code == 201, registered.text
    token = api.post("/auth/login", json={"email": email, "password": password}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    slots = api.get(f"/practitioners/{practitioner_id}/slots", params={"motif": "consult"}).json()["slots"]
    assert slots
    slot = slots[len(slots) // 2]
    booking = {
        "practitioner_id": str(practitioner_id),
        "motif_id": "consult",
        "starts_at": slot["starts_at"],
        "mode": slot["mode"],
    }
    booked = api.post(
        "/appointments", json=booking, headers={**auth, "Idempotency-Key": secrets.token_hex(8)}
    )
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]

    mine = api.get("/appointments", headers=auth).json()["items"]
    assert appointment_id in [item["id"] for item in mine]
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT practitioner_id::text FROM read.agenda_appointments WHERE id = %s", (appointment_id,)
        ).fetchone()
    assert row == (str(practitioner_id),)
    after = api.get(f"/practitioners/{practitioner_id}/slots", params={"motif": "consult"}).json()["slots"]
    assert slot["starts_at"] not in [(s["starts_at"]) for s in after if s["mode"] == slot["mode"]]


def test_the_projector_stops_cleanly_on_sigterm(
    compose: dict[str, Any], overrides: dict[str, str], tmp_path: Path
) -> None:
    argv = with_option(
        consulta_argv(compose["services"]["projector"]["command"]), "--heartbeat", str(tmp_path / "alive")
    )
    process = start(
        argv, process_env(compose["services"]["projector"], **overrides), tmp_path / "projector.log"
    )
    wait_until((tmp_path / "alive").exists, 20, "the projector to start")
    assert stop(process) == 0, (tmp_path / "projector.log").read_text()


def test_serve_refuses_to_start_without_a_secret_key(
    compose: dict[str, Any], overrides: dict[str, str]
) -> None:
    env = process_env(compose["services"]["web"], **overrides)
    del env["CONSULTA_SECRET_KEY"]
    argv = with_option(consulta_argv(compose["services"]["web"]["command"]), "--port", str(free_port()))
    result = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"CONSULTA_SECRET_KEY" in result.stderr
