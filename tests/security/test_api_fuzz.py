"""Fuzzing the JSON API with schemathesis against /schema/openapi.json, as each role.

A real HTTP server (uvicorn, in a thread of this process, on the test
database) answers. For every operation and role (anonymous, patient,
practitioner, a secretary granted another practitioner's agenda), generated requests must get no server error and no answer
outside the schema (status, content type, body), and an operation that needs
a bearer token must refuse a request without one (schemathesis' ignored_auth).
Every case that names an appointment is sent again with an appointment of
someone else: that must never succeed. Examples per operation are bounded to
keep the run within a minute or two.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from consulta.application import Actor
from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import PASSWORD, Principal, patient, practitioner, totp_code, with_totp
from tests.factories import unique_email

MAX_EXAMPLES = 50
ROLES = ("anonymous", "patient", "practitioner", "secretary")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def fuzz_server(settings: Settings, services: Services) -> Iterator[str]:
    relaxed = settings.with_(login_rate_per_minute=100_000, booking_rate_per_minute=100_000)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(relaxed, services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="fuzz-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def fuzz_roles(fuzz_server: str, services: Services) -> dict[str, Any]:
    """Bearer headers per role, and an appointment none of them may touch (another patient's)."""
    now = services.clock.now()
    owner_doctor = practitioner(services, now, "practitioner X", "Dr Fuzz Owner")
    other_doctor = practitioner(services, now, "practitioner Y", "Dr Fuzz Other")
    owner = patient(services, now, "patient A", "Ana", "Fuzzowner")
    someone = patient(services, now, "patient B", "Ben", "Fuzzother")
    card = services.reads.practitioner(owner_doctor.practitioner_id)  # type: ignore[arg-type]
    from datetime import timedelta

    slot = services.reads.free_slots(card, "consult", now + timedelta(days=2), now + timedelta(days=9), now)[
        0
    ]  # type: ignore[arg-type]
    foreign = services.app.book(
        owner.actor, owner_doctor.practitioner_id, "consult", slot.mode, slot.starts_at, owner.profile_id, now
    )  # type: ignore[arg-type]
    assert services.wait_for(foreign.position)

    def token(p: Any) -> dict[str, str]:
        body = {"email": p.email, "password": PASSWORD, "code": totp_code(p.totp_secret)}
        answer = httpx.post(fuzz_server + "/api/v1/auth/login", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    secretary_email = unique_email("fuzz-secretary")  # works for Y only: X's appointment is foreign to it too
    secretary_id = services.app.add_secretary(secretary_email, PASSWORD, now).id
    services.app.grant_secretary(other_doctor.actor, secretary_email, now)  # type: ignore[arg-type]
    secretary = Principal(
        "secretary of Y", Actor(secretary_id, "secretary"), secretary_email, PASSWORD,
        with_totp(services, secretary_id, now),
    )  # fmt: skip
    return {
        "headers": {
            "anonymous": {},
            "patient": token(someone),
            "practitioner": token(other_doctor),
            "secretary": token(secretary),
        },
        "foreign_appointment": str(foreign.id),
    }


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
COUNT: dict[str, int] = {"cases": 0, "foreign": 0, "operations": 0}


def fuzz(case: Any, role: str, server: str, roles: dict[str, Any]) -> None:
    headers = roles["headers"][role]
    secured = bool(case.operation.definition.raw.get("security"))
    checks = CHECKS + ([ignored_auth] if secured and role != "anonymous" else [])
    response = case.call_and_validate(base_url=server, headers=headers, checks=checks)
    COUNT["cases"] += 1
    if secured and role == "anonymous":  # 401, or 404/4xx when the path or body is malformed: never a success
        assert 400 <= response.status_code < 500, (case.method, case.path, response.status_code)
    if "appointment_id" in (case.path_parameters or {}):
        case.path_parameters["appointment_id"] = roles["foreign_appointment"]
        foreign = case.call(base_url=server, headers=headers)
        COUNT["foreign"] += 1
        assert 400 <= foreign.status_code < 500, (case.method, case.path, role, foreign.status_code)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation_as_each_role(role: str, fuzz_server: str, fuzz_roles: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(fuzz_server + "/schema/openapi.json")
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, "the API description was read"
    assert all(op.path.startswith("/api/") for op in operations), "the description lists only the JSON API"
    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @FUZZ
        @given(case=strategy)
        def run(case: Any) -> None:
            fuzz(case, role, fuzz_server, fuzz_roles)

        COUNT["operations"] += 1
        try:
            run()
        except Exception as error:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:1500]}")
    print(f"API fuzz as {role}: {COUNT}")
    assert failures == [], "\n\n".join(failures)
