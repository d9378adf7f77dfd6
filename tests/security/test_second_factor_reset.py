"""The operator resets a lost second factor: `consulta account reset-second-factor`, run as a process.

Against the real PostgreSQL, Redis (sessions and API tokens shared with the
web process) and an SMTP server: the account's sessions and tokens end, the
holder gets a notice, the old authenticator's codes stop passing and the next
login sets up a new app. Nothing of the account is printed but its id.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import api_login, page_login, post_form, practitioner, totp_code
from tests.notifications.smtp_server import SmtpServer
from tests.security.helpers import client_for, head

pytestmark = pytest.mark.usefixtures("redis_url")


def reset(settings: Settings, redis_url: str, smtp_port: int, email: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "consulta"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "consulta"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "CONSULTA_ENV": "production",
        "CONSULTA_SECRET_KEY": settings.secret_key,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "SMTP_FROM": "Consulta <no-reply@consulta.test>",
    }
    command = [*argv, "account", "reset-second-factor", "--email", email]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_a_reset_ends_every_session_and_token_and_the_next_login_sets_up_a_new_app(
    settings: Settings, services: Services, redis_url: str
) -> None:
    shared = settings.with_(redis_url=redis_url)  # the web process's sessions in Redis, as in production
    staff = practitioner(services, services.clock.now(), "practitioner R", "Dr Rita Reset")
    smtp = SmtpServer().start()
    try:
        async with client_for(
            shared, services
        ) as browser:  # one client: its app's Redis pool is bound to one loop
            await page_login(browser, staff)
            assert (await browser.get("/pro/agenda")).status_code == 200
            bearer = {"authorization": f"Bearer {await api_login(browser, staff)}"}
            assert (await browser.get("/api/v1/appointments", headers=bearer)).status_code == 200
            old_code = totp_code(staff.totp_secret)  # type: ignore[arg-type]

            done = reset(settings, redis_url, smtp.port, staff.email)
            assert done.returncode == 0, done.stderr
            assert "reset" in done.stdout and "sessions and API tokens are ended" in done.stdout
            assert staff.email not in done.stdout + done.stderr

            ended = await browser.get("/pro/agenda", follow_redirects=False)
            assert ended.status_code in (303, 404)  # logged out: staff pages look missing, as to anyone
            assert "Dr Rita Reset" not in ended.text
            assert (await browser.get("/api/v1/appointments", headers=bearer)).status_code == 401
            [notice] = [m for m in smtp.messages if m.recipients == [staff.email]]
            assert "second factor" in str(notice.message["Subject"]).lower() or "facteur" in str(
                notice.message["Subject"]
            )

            # The old app's code does not pass any more: the login asks for a new app instead.
            first = await post_form(browser, "/login", {"email": staff.email, "password": staff.password})
            assert first.headers["location"] == "/login/second-factor"
            setup = await browser.get("/login/second-factor")
            assert 'id="totp-key"' in setup.text  # a new key to add to the app
            refused = await post_form(browser, "/login/code", {"code": old_code})
            assert refused.status_code == 401
            api = await browser.post(
                "/api/v1/auth/login",
                json={"email": staff.email, "password": staff.password, "code": old_code},
            )
            assert api.status_code in (401, 422) and old_code not in api.text
    finally:
        smtp.stop()
    assert services.app.identity(staff.actor.account_id).second_factor is None  # type: ignore[union-attr]


def test_no_second_factor_or_no_account_changes_nothing(
    settings: Settings, services: Services, redis_url: str
) -> None:
    staff = practitioner(services, services.clock.now(), "practitioner S", "Dr Sam Twice")
    smtp = SmtpServer().start()
    try:
        before = head(services)  # Redis unreachable: a clear error and nothing recorded (it can run again)
        dead = reset(settings, "redis://127.0.0.1:1/0", smtp.port, staff.email)
        assert (
            dead.returncode != 0
            and "cannot reach Redis" in dead.stderr
            and "nothing was changed" in dead.stderr
        )
        assert "Traceback" not in dead.stderr and head(services) == before
        assert services.app.identity(staff.actor.account_id).second_factor == "totp"  # type: ignore[union-attr]

        assert reset(settings, redis_url, smtp.port, staff.email).returncode == 0
        before = head(services)
        again = reset(settings, redis_url, smtp.port, staff.email)
        assert again.returncode == 0 and "nothing changed" in again.stdout
        unknown = reset(settings, redis_url, smtp.port, "nobody-here@example.org")
        assert unknown.returncode != 0 and "no account has this e-mail address" in unknown.stderr
        assert head(services) == before
        assert len([m for m in smtp.messages if m.recipients == [staff.email]]) == 1  # one notice, not two
    finally:
        smtp.stop()
