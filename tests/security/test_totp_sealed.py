"""The TOTP secret at rest: sealed in the event store, opened with the server's key only, old clear ones still good.

Each test builds its own `Consulta` with a chosen `CONSULTA_SECRET_KEY` over the
test database (what a restart of the web process does) and logs in through the
real pages and API. consulta.totp_seal and docs/security.md say why.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
import pyotp
import pytest

from consulta.application import Consulta
from consulta.identity import totp_step
from consulta.services import Services
from consulta.settings import Settings
from consulta.totp_seal import SecondFactorKeyError, TotpSeal
from tests.accounts.principals import totp_code
from tests.factories import make_patient
from tests.security.helpers import client_for, log_in, post_form

KEY = "totp-test-key-one"
OTHER_KEY = "totp-test-key-two"
KEY_CHANGED = "La clé secrète du serveur a changé"  # pages speak French unless asked otherwise


@contextmanager
def server_with_key(services: Services, key: str) -> Iterator[Services]:
    """The shared read models and clock, with a new application holding `key` (a restarted web process)."""
    env = {**services.settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1", "CONSULTA_SECRET_KEY": key}
    app = Consulta(env=env)
    try:
        yield dataclasses.replace(services, app=app)
    finally:
        app.close()


def stored_events_holding(settings: Settings, needle: str) -> list[str]:
    """Topics of the stored events whose bytes hold `needle`, anywhere in the log."""
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT topic FROM events.consulta_events WHERE position(%s::bytea in state) > 0",
            (needle.encode(),),
        ).fetchall()
    return [row[0] for row in rows]


def recorded_secret(services: Services, account_id: UUID) -> str:
    identity = services.app.identity(account_id)
    assert identity.totp_secret is not None
    return identity.totp_secret


async def enrol_on_the_page(settings: Settings, services: Services, email: str) -> str:
    """A patient turns on the authenticator app (/account/second-factor); the key the page showed."""
    async with client_for(settings, services) as client:
        assert (await log_in(client, email)).status_code == 303
        shown = await client.get("/account/second-factor")
        found = re.search(r'id="totp-key" readonly value="([A-Z2-7]+)"', shown.text)
        assert found, shown.status_code
        done = await post_form(client, "/account/second-factor/code", {"code": totp_code(found.group(1))})
        assert done.status_code == 303, done.status_code
        return found.group(1)


def right_code(secret: str) -> str:
    """The code the app shows now, for attempts that must be refused whatever the code (not used up)."""
    return str(pyotp.TOTP(secret).now())


async def page_login(settings: Settings, services: Services, email: str, code: str) -> Any:
    """Password, then `code`: the answer to the code."""
    async with client_for(settings, services) as client:
        first = await log_in(client, email)
        assert first.status_code == 303 and first.headers["location"] == "/login/second-factor"
        return await post_form(client, "/login/code", {"code": code})


async def api_login(settings: Settings, services: Services, email: str, code: str) -> Any:
    async with client_for(settings, services) as client:
        body = {"email": email, "password": "correct horse battery", "code": code}
        return await client.post("/api/v1/auth/login", json=body)


async def test_after_enrolment_the_log_holds_no_clear_secret_and_login_works_after_a_restart(
    settings: Settings, services: Services
) -> None:
    patient, _, email = make_patient(services.app, services.clock.now())
    account_id = patient.account_id
    with server_with_key(services, KEY) as first:
        secret = await enrol_on_the_page(settings, first, email)
        recorded = recorded_secret(first, account_id)
    assert recorded.startswith("v1:") and secret not in recorded
    assert stored_events_holding(settings, secret) == [], "the base32 secret is in the event store"
    assert stored_events_holding(settings, recorded) == ["consulta.Identity.TotpEnabled"]
    with server_with_key(services, KEY) as restarted:  # a new process, the same key
        assert (await page_login(settings, restarted, email, totp_code(secret))).status_code == 303
        assert (await api_login(settings, restarted, email, totp_code(secret))).status_code == 200


async def test_a_secret_recorded_in_clear_before_sealing_still_logs_in(
    settings: Settings, services: Services
) -> None:
    patient, _, email = make_patient(services.app, services.clock.now())
    account_id = patient.account_id
    secret = services.app.new_totp_secret()
    with server_with_key(services, KEY) as server:
        identity = server.app.identity(account_id)
        identity._totp_enabled(secret, totp_step(services.clock.now()) - 2)  # the event as it was recorded
        server.app.save(identity)
    assert stored_events_holding(settings, secret) == ["consulta.Identity.TotpEnabled"]
    with server_with_key(services, KEY) as server:
        assert (await page_login(settings, server, email, totp_code(secret))).status_code == 303
        assert (await api_login(settings, server, email, totp_code(secret))).status_code == 200


async def test_a_sealed_secret_moved_to_another_account_does_not_open(
    settings: Settings, services: Services
) -> None:
    _, _, email_a = make_patient(services.app, services.clock.now())
    patient_b, _, email_b = make_patient(services.app, services.clock.now())
    account_b = patient_b.account_id
    with server_with_key(services, KEY) as server:
        secret_a = await enrol_on_the_page(settings, server, email_a)
        blob_a = recorded_secret(server, server.app.account_by_email(email_a).id)
        identity_b = server.app.identity(account_b)
        identity_b._totp_enabled(blob_a, totp_step(services.clock.now()) - 2)  # A's bytes in B's history
        server.app.save(identity_b)
        refused = await page_login(settings, server, email_b, right_code(secret_a))
        assert refused.status_code == 422 and KEY_CHANGED in refused.text
        assert TotpSeal(KEY).open(server.app.account_by_email(email_a).id, blob_a) == secret_a
    with pytest.raises(SecondFactorKeyError):
        TotpSeal(KEY).open(account_b, blob_a)


@pytest.fixture
def log_records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every record any logger handles, at every level, with its traceback."""
    seen: list[str] = []
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "".join(traceback.format_exception(record.exc_info[1]))
        seen.append(text)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    for name in [None, *logging.root.manager.loggerDict]:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    return seen


async def test_a_changed_key_gives_a_clear_refusal_not_a_server_error(
    settings: Settings, services: Services, log_records: list[str]
) -> None:
    patient, _, email = make_patient(services.app, services.clock.now())
    account_id = patient.account_id
    with server_with_key(services, KEY) as before:
        secret = await enrol_on_the_page(settings, before, email)
        blob = recorded_secret(before, account_id)
    with server_with_key(services, OTHER_KEY) as after:
        page = await page_login(settings, after, email, right_code(secret))
        assert page.status_code == 422 and KEY_CHANGED in page.text, page.status_code
        assert secret not in page.text and blob[3:] not in page.text
        api = await api_login(settings, after, email, right_code(secret))
        assert api.status_code == 422 and api.json()["code"] == "second_factor_key_changed"
        assert secret not in api.text and blob[3:] not in api.text
        async with client_for(settings, after) as english:
            english.cookies.set("lang", "en")
            await log_in(english, email)
            answer = await post_form(english, "/login/code", {"code": right_code(secret)})
            assert answer.status_code == 422 and "secret key changed: your second factor" in answer.text
    assert log_records, "the test saw no log record at all"
    assert not [r for r in log_records if secret in r or blob[3:] in r]
    with server_with_key(services, KEY) as back:  # the right key back: the same enrolment works again
        assert (await page_login(settings, back, email, totp_code(secret))).status_code == 303


async def test_the_one_off_command_seals_old_clear_secrets_in_place(
    settings: Settings, services: Services
) -> None:
    patient, _, email = make_patient(services.app, services.clock.now())
    secret = services.app.new_totp_secret()
    with server_with_key(services, KEY) as server:
        identity = server.app.identity(patient.account_id)
        identity._totp_enabled(secret, totp_step(services.clock.now()) - 2)  # recorded before sealing
        server.app.save(identity)
    assert stored_events_holding(settings, secret) == ["consulta.Identity.TotpEnabled"]
    command = [sys.executable, "-m", "consulta.totp_reseal"]
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CONSULTA_ENV": "test"}
    env.pop("CONSULTA_SECRET_KEY", None)
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "set CONSULTA_SECRET_KEY" in refused.stderr
    done = subprocess.run(command, env={**env, "CONSULTA_SECRET_KEY": KEY}, capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    first_line = done.stdout.splitlines()[0]
    assert re.fullmatch(r"Sealed [1-9]\d* TOTP secret\(s\) recorded in clear\.", first_line), done.stdout
    assert secret not in done.stdout + done.stderr
    assert stored_events_holding(settings, secret) == [], "the clear secret is still in the event store"
    with server_with_key(services, KEY) as server:
        assert recorded_secret(server, patient.account_id).startswith("v1:")
        assert (await page_login(settings, server, email, totp_code(secret))).status_code == 303
    again = subprocess.run(command, env={**env, "CONSULTA_SECRET_KEY": KEY}, capture_output=True, text=True,
                           timeout=60, check=True)  # fmt: skip
    assert again.stdout.splitlines()[:2] == [
        "Sealed 0 TOTP secret(s) recorded in clear.",
        "Re-sealed 0 TOTP secret(s) sealed under a previous key.",
    ]
