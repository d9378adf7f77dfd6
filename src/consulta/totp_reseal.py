"""Seal again, in place, the TOTP secrets recorded in clear or under an earlier key.

    DATABASE_URL=... CONSULTA_SECRET_KEY=... [CONSULTA_PREVIOUS_SECRET_KEYS=...] python -m consulta.totp_reseal

Two cases, one pass over the `TotpEnabled` events:

- Recorded in clear, before sealing existed (no `v1:` prefix): those accounts
  keep logging in, but the secret stays readable in the event store.
- Sealed under a key listed in `CONSULTA_PREVIOUS_SECRET_KEYS`, after the key
  was rotated: those accounts keep logging in while that key stays listed; once
  sealed again under the current key, it can be dropped (docs/security.md,
  "Rotating the secret key").

Appending a new event would not help: the old `TotpEnabled` would still hold
the secret. So this command rewrites the `secret` field of those stored events,
and only that field, to the form sealed under `CONSULTA_SECRET_KEY` (same
event, same schema, the other bytes untouched), in one transaction, under the
key the web processes use. It is the one deliberate exception to "events never
change". Running it again changes nothing: a secret that opens with the current
key is skipped. One that opens with no key given is left as it was and
counted (such an account needs `consulta account reset-second-factor`, or it
is an enrolment since replaced). Copies made before it ran (backups, WAL
archives, replicas' history) still hold the old forms.

Nothing about a secret or a key is printed; the command reports counts.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from consulta.aggregates.identity import Identity
from consulta.settings import Settings
from consulta.totp_seal import SecondFactorKeyError, TotpSeal, is_sealed

TOPIC = "consulta.Identity.TotpEnabled"


@dataclass
class Resealed:
    clear: int = 0  # recorded in clear, now sealed under the current key
    rotated: int = 0  # sealed under a previous key, now under the current one
    unopenable: int = 0  # opened with no key given: left as they were


def reseal(settings: Settings, secret_key: str, previous_keys: Sequence[str] = ()) -> Resealed:
    """Seal under `secret_key` every TOTP secret of the log recorded in clear or under one of `previous_keys`."""
    from consulta.application import Consulta

    current = TotpSeal(secret_key)
    any_key = TotpSeal(secret_key, previous_keys)
    table = sql.Identifier(settings.events_schema, "consulta_events")
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    counts = Resealed()
    try:
        with psycopg.connect(settings.database_url) as conn, conn.transaction():
            rows = conn.execute(
                sql.SQL(
                    "SELECT originator_id, originator_version, state FROM {} WHERE topic = %s FOR UPDATE"
                ).format(table),
                (TOPIC,),
            ).fetchall()
            for originator_id, version, state in rows:
                new_state = _resealed_state(app, current, any_key, originator_id, bytes(state), counts)
                if new_state is None:
                    continue
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
                    ).format(table),
                    (new_state, originator_id, version),
                )
    finally:
        app.close()
    return counts


def _resealed_state(
    app: Any, current: TotpSeal, any_key: TotpSeal, identity_id: Any, state: bytes, counts: Resealed
) -> bytes | None:
    """The event's bytes with its secret sealed under the current key, or None to leave it as it is."""
    recorded = str(json.loads(state)["secret"])
    identity = app.repository.get(identity_id)
    assert isinstance(identity, Identity)
    account_id = identity.account_id
    if is_sealed(recorded):
        try:
            current.open(account_id, recorded)
            return None  # under the current key already
        except SecondFactorKeyError:
            pass
        try:
            secret = any_key.open(account_id, recorded)
        except SecondFactorKeyError:
            counts.unopenable += 1
            return None
    else:
        secret = recorded
    sealed = current.seal(account_id, secret)
    if current.open(account_id, sealed) != secret:
        raise RuntimeError(f"a secret of identity {identity_id} did not open after sealing: nothing changed")
    old, new = f'"secret":"{recorded}"'.encode(), f'"secret":"{sealed}"'.encode()
    if state.count(old) != 1:
        raise RuntimeError(f"an event of identity {identity_id} is not in the expected form: nothing changed")
    if is_sealed(recorded):
        counts.rotated += 1
    else:
        counts.clear += 1
    return state.replace(old, new)


def main() -> None:
    secret_key = os.environ.get("CONSULTA_SECRET_KEY", "")
    if not secret_key:
        sys.exit(
            "set CONSULTA_SECRET_KEY to the web processes' key: sealing with another would lock users out"
        )
    settings = Settings.from_env()
    counts = reseal(settings, secret_key, settings.previous_secret_keys)
    print(f"Sealed {counts.clear} TOTP secret(s) recorded in clear.")
    print(f"Re-sealed {counts.rotated} TOTP secret(s) sealed under a previous key.")
    print(f"Left {counts.unopenable} TOTP secret(s) as they were: no key given opens them.")


if __name__ == "__main__":
    main()
