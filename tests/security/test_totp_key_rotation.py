"""Rotating `CONSULTA_SECRET_KEY`: earlier keys listed in `CONSULTA_PREVIOUS_SECRET_KEYS` still open.

Each test uses keys of its own (random), so the re-sealing command, which
reads the whole log of the test database, touches only this test's events
among those sealed under a previous key. docs/security.md, "Rotating the
secret key", gives the operator's procedure these tests follow.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import psycopg
import pytest

from consulta import invitation_seal
from consulta.application import Consulta
from consulta.invitation_seal import SealError, open_sealed, seal, worker_keys
from consulta.services import Services
from consulta.settings import Settings
from consulta.totp_seal import SecondFactorKeyError, TotpSeal
from tests.accounts.principals import totp_code
from tests.factories import make_patient
from tests.security.test_totp_sealed import (
    KEY_CHANGED,
    api_login,
    enrol_on_the_page,
    page_login,
    recorded_secret,
    right_code,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def deployment(settings: Settings, key: str, previous: str = "") -> Settings:
    """The settings a process reads after the operator set these variables."""
    environ = {"DATABASE_URL": settings.database_url, "CONSULTA_ENV": "test", "CONSULTA_SECRET_KEY": key}
    if previous:
        environ["CONSULTA_PREVIOUS_SECRET_KEYS"] = previous
    return Settings.from_env(environ, pool_size=1)


@contextmanager
def restarted(services: Services, settings: Settings) -> Iterator[Services]:
    """The shared read models and clock, with a new application built from `settings` (a restart)."""
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        yield dataclasses.replace(services, app=app, settings=settings)
    finally:
        app.close()


def totp_events(settings: Settings) -> dict[tuple[UUID, int], bytes]:
    """Every stored `TotpEnabled` event's bytes, by (identity, version)."""
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, state FROM events.consulta_events"
            " WHERE topic = 'consulta.Identity.TotpEnabled'"
        ).fetchall()
    return {(row[0], row[1]): bytes(row[2]) for row in rows}


def run_reseal(settings: Settings, key: str, previous: str) -> str:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CONSULTA_ENV": "test"}
    env.update(CONSULTA_SECRET_KEY=key, CONSULTA_PREVIOUS_SECRET_KEYS=previous)
    done = subprocess.run([sys.executable, "-m", "consulta.totp_reseal"], env=env, capture_output=True,
                          text=True, timeout=60, check=True)  # fmt: skip
    assert done.stderr == ""
    return done.stdout


def test_the_setting_is_read_split_on_whitespace_and_passed_to_the_application() -> None:
    settings = Settings.from_env(
        {"CONSULTA_SECRET_KEY": "new", "CONSULTA_PREVIOUS_SECRET_KEYS": " old-2\n old-1\told-2 "}
    )
    assert settings.previous_secret_keys == ("old-2", "old-1"), "newest first, repeats dropped"
    assert "old-1" not in repr(settings) and "new" not in repr(settings)
    assert settings.eventsourcing_env()["CONSULTA_PREVIOUS_SECRET_KEYS"] == "old-2 old-1"
    assert Settings.from_env({"CONSULTA_SECRET_KEY": "new"}).previous_secret_keys == ()
    seal = TotpSeal.from_env(settings.eventsourcing_env())
    account = uuid4()
    assert seal.open(account, TotpSeal("old-1").seal(account, SECRET)) == SECRET
    assert TotpSeal("new").open(account, seal.seal(account, SECRET)) == SECRET, "sealing uses the current key"
    with pytest.raises(SecondFactorKeyError, match="secret key changed"):
        TotpSeal("old-1").open(account, seal.seal(account, SECRET))


async def test_a_user_enrolled_under_the_old_key_logs_in_after_the_switch(
    settings: Settings, services: Services
) -> None:
    old, new = new_key(), new_key()
    patient, _, email = make_patient(services.app, services.clock.now())
    with restarted(services, deployment(settings, old)) as before:
        secret = await enrol_on_the_page(before.settings, before, email)
    switched = deployment(settings, new, f"{new_key()}\n{old}\n")  # the key before the old one, then it
    with restarted(services, switched) as after:
        assert (await page_login(switched, after, email, totp_code(secret))).status_code == 303
        assert (await api_login(switched, after, email, totp_code(secret))).status_code == 200
    alone = deployment(settings, new)  # the old key dropped before the re-sealing: the plain refusal
    with restarted(services, alone) as server:
        refused = await page_login(alone, server, email, right_code(secret))
        assert refused.status_code == 422 and KEY_CHANGED in refused.text
    with pytest.raises(SecondFactorKeyError):
        TotpSeal(new).open(patient.account_id, recorded_secret(services, patient.account_id))


async def test_the_reseal_moves_secrets_to_the_new_key_in_place_and_once(
    settings: Settings, services: Services
) -> None:
    old, new = new_key(), new_key()
    patient, _, email = make_patient(services.app, services.clock.now())
    account_id = patient.account_id
    with restarted(services, deployment(settings, old)) as before:
        secret = await enrol_on_the_page(before.settings, before, email)
    identity_id = services.app.identity(account_id).id
    blob_old = recorded_secret(services, account_id)
    before_bytes = totp_events(settings)
    (key_of_event,) = [k for k in before_bytes if k[0] == identity_id]

    output = run_reseal(settings, new, f"\n  {old}\n")
    lines = output.splitlines()
    assert re.fullmatch(r"Sealed \d+ TOTP secret\(s\) recorded in clear\.", lines[0]), output
    assert lines[1] == "Re-sealed 1 TOTP secret(s) sealed under a previous key.", output
    assert re.fullmatch(r"Left \d+ TOTP secret\(s\) as they were: no key given opens them\.", lines[2])
    assert len(lines) == 3
    assert not [s for s in (secret, old, new, blob_old[3:]) if s in output]

    after_bytes = totp_events(settings)
    blob_new = recorded_secret(services, account_id)
    assert blob_new != blob_old and blob_new.startswith("v1:")
    expected = before_bytes[key_of_event].replace(blob_old.encode(), blob_new.encode())
    assert after_bytes[key_of_event] == expected, "only the secret field changed"
    assert {k: v for k, v in after_bytes.items() if k != key_of_event} == {
        k: v for k, v in before_bytes.items() if k != key_of_event
    }, "no other account's event changed"
    with pytest.raises(SecondFactorKeyError):
        TotpSeal(old).open(account_id, blob_new)
    assert TotpSeal(new).open(account_id, blob_new) == secret

    alone = deployment(settings, new)  # the old key dropped
    with restarted(services, alone) as server:
        assert (await page_login(alone, server, email, totp_code(secret))).status_code == 303
        assert (await api_login(alone, server, email, totp_code(secret))).status_code == 200

    again = run_reseal(settings, new, old)
    assert again.splitlines()[:2] == [
        "Sealed 0 TOTP secret(s) recorded in clear.",
        "Re-sealed 0 TOTP secret(s) sealed under a previous key.",
    ]
    assert totp_events(settings) == after_bytes, "the second run changed stored bytes"


async def test_a_secret_under_an_unknown_key_gets_the_plain_refusal(
    settings: Settings, services: Services
) -> None:
    unknown, old, new = new_key(), new_key(), new_key()
    patient, _, email = make_patient(services.app, services.clock.now())
    with restarted(services, deployment(settings, unknown)) as before:
        secret = await enrol_on_the_page(before.settings, before, email)
    switched = deployment(settings, new, old)
    with restarted(services, switched) as after:
        page = await page_login(switched, after, email, right_code(secret))
        assert page.status_code == 422 and KEY_CHANGED in page.text, page.status_code
        api = await api_login(switched, after, email, right_code(secret))
        assert api.status_code == 422 and api.json()["code"] == "second_factor_key_changed"
    blob = recorded_secret(services, patient.account_id)
    output = run_reseal(settings, new, old)
    assert "Re-sealed 0 " in output and not re.search(r"Left 0 ", output)
    assert recorded_secret(services, patient.account_id) == blob, "left as it was"
    with pytest.raises(SecondFactorKeyError, match="secret key changed"):
        TotpSeal(new, [old]).open(patient.account_id, blob)


def test_an_invitation_sealed_under_the_old_key_opens_with_the_new_one_plus_the_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new, unknown = new_key(), new_key(), new_key()
    cid = uuid4()
    blob = seal(old, cid, "ABCDE-12345", "link-token")
    assert open_sealed(new, cid, blob, (unknown, old)) == ("ABCDE-12345", "link-token")
    for previous in ((), (unknown,)):
        with pytest.raises(SealError, match="CONSULTA_SECRET_KEY differs"):
            open_sealed(new, cid, blob, previous)
    with pytest.raises(SealError, match="CONSULTA_SECRET_KEY differs"):
        open_sealed(new, uuid4(), blob, (old,))  # the associated data still binds it
    monkeypatch.setattr(invitation_seal, "_in_process", None)  # a worker process, not `consulta dev`
    monkeypatch.setenv("CONSULTA_SECRET_KEY", new)
    monkeypatch.setenv("CONSULTA_PREVIOUS_SECRET_KEYS", f"{unknown}\n{old}")
    assert worker_keys() == (new, (unknown, old)), "the worker process reads both variables"
