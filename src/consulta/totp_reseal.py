"""One-off: seal, in place, the TOTP secrets recorded in clear before sealing existed.

    DATABASE_URL=... CONSULTA_SECRET_KEY=... python -m consulta.totp_reseal

Accounts enrolled before consulta.totp_seal keep logging in with their clear
secret (no `v1:` prefix means clear), but the secret stays readable in the
event store. Appending a new event would not help: the old `TotpEnabled`
would still hold it. So this command rewrites the `secret` field of those
stored events, and only that field, to the sealed form (same event, same
schema, the other bytes untouched), in one transaction, under the key the web
processes use. It is the one deliberate exception to "events never change";
run it once after upgrading (again is harmless: sealed ones are skipped).
Copies made before it ran (backups, WAL archives, replicas' history) still
hold the clear secrets: only a new enrolment makes those worthless.

Nothing about a secret is printed; the command reports a count.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import psycopg
from psycopg import sql

from consulta.aggregates.identity import Identity
from consulta.settings import Settings
from consulta.totp_seal import TotpSeal, is_sealed

TOPIC = "consulta.Identity.TotpEnabled"


def reseal_clear_secrets(settings: Settings, secret_key: str) -> int:
    """Seal every clear TOTP secret in the log with `secret_key`; how many events were rewritten."""
    from consulta.application import Consulta

    seal = TotpSeal(secret_key)
    table = sql.Identifier(settings.events_schema, "consulta_events")
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    changed = 0
    try:
        with psycopg.connect(settings.database_url) as conn, conn.transaction():
            rows = conn.execute(
                sql.SQL(
                    "SELECT originator_id, originator_version, state FROM {} WHERE topic = %s FOR UPDATE"
                ).format(table),
                (TOPIC,),
            ).fetchall()
            for originator_id, version, state in rows:
                new_state = _sealed_state(app, seal, originator_id, bytes(state))
                if new_state is None:
                    continue
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
                    ).format(table),
                    (new_state, originator_id, version),
                )
                changed += 1
    finally:
        app.close()
    return changed


def _sealed_state(app: Any, seal: TotpSeal, identity_id: Any, state: bytes) -> bytes | None:
    """The event's bytes with its secret sealed, or None when it is sealed already."""
    secret = str(json.loads(state)["secret"])
    if is_sealed(secret):
        return None
    identity = app.repository.get(identity_id)
    assert isinstance(identity, Identity)
    sealed = seal.seal(identity.account_id, secret)
    assert seal.open(identity.account_id, sealed) == secret
    old, new = f'"secret":"{secret}"'.encode(), f'"secret":"{sealed}"'.encode()
    if state.count(old) != 1:
        raise RuntimeError(f"an event of identity {identity_id} is not in the expected form: nothing changed")
    return state.replace(old, new)


def main() -> None:
    secret_key = os.environ.get("CONSULTA_SECRET_KEY", "")
    if not secret_key:
        sys.exit(
            "set CONSULTA_SECRET_KEY to the web processes' key: sealing with another would lock users out"
        )
    count = reseal_clear_secrets(Settings.from_env(), secret_key)
    print(f"Sealed {count} TOTP secret(s) recorded in clear.")


if __name__ == "__main__":
    main()
