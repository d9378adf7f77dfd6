"""`consulta serve` (compose's web command) stops within its grace period even with an event stream open.

The teleconsultation pages hold Server-Sent Events streams that never end by themselves; a web
process that waited for them would outlive compose's stop timeout and be killed.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
import pytest

from consulta.cli import GRACE_SECONDS
from consulta.services import Services
from tests.factories import make_practitioner
from tests.ops.conftest import consulta_argv, free_port, process_env, with_option
from tests.ops.test_processes import SECRET, start, wait_until
from tests.tele.live_server import EVENT_STREAM, practitioner_session

pytestmark = pytest.mark.slow


def test_serve_stops_within_its_grace_with_a_stream_open(
    compose: dict[str, Any], services: Services, database_url: str, redis_url: str, tmp_path: Any
) -> None:
    web_service = compose["services"]["web"]
    port = free_port()
    argv = with_option(
        with_option(consulta_argv(web_service["command"]), "--host", "127.0.0.1"), "--port", str(port)
    )
    env = process_env(web_service, DATABASE_URL=database_url, REDIS_URL=redis_url, CONSULTA_SECRET_KEY=SECRET)
    env["CONSULTA_ENV"] = "test"  # cookies without Secure: this client speaks plain HTTP to 127.0.0.1
    web = start(argv, env, tmp_path / "web.log")
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{origin}/healthz", timeout=2).status_code == 200, 60, "web")
        _, staff, _ = make_practitioner(services.app, services.clock.now(), city="Rennes")
        pro = practitioner_session(origin, services.app.get_account(staff.account_id).email)
        with pro.stream("GET", "/pro/tele/events", headers=EVENT_STREAM, timeout=30) as stream:
            assert stream.status_code == 200
            next(stream.iter_lines())  # the stream is open and has spoken
            web.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            code = web.wait(GRACE_SECONDS + 10)
        assert time.monotonic() - stopped_at < GRACE_SECONDS + 10
        assert code in (0, -signal.SIGTERM), (tmp_path / "web.log").read_text()[
            -2000:
        ]  # uvicorn re-raises it
    finally:
        if web.poll() is None:
            web.kill()
            web.wait(5)
