"""The access log: who read whose health data, and who was refused, when. Append-only.

Not a projection: it is not derived from the event log and `consulta
rebuild` never touches it. It lives in its own schema (`audit`), and
triggers refuse every UPDATE, DELETE and TRUNCATE, so the application (and
anyone with its database role short of dropping the table) can only add
rows. Rows never hold the data that was read: only ids, roles, the action
(a route name) and the outcome. A single read names its patient in
`subject_profile`; a listing (an agenda view) is one row naming every
profile it showed in `profile_ids` (GIN-indexed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

SCHEMA = "audit"
COLUMNS = (
    "at",
    "actor_account",
    "actor_role",
    "actor_practitioner",
    "action",
    "object_kind",
    "object_id",
    "subject_profile",
    "outcome",
    "status",
    "profile_ids",
)

CREATE = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.access_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor_account uuid,
        actor_role text NOT NULL,
        actor_practitioner uuid,
        action text NOT NULL,
        object_kind text NOT NULL,
        object_id uuid,
        subject_profile uuid,
        outcome text NOT NULL CHECK (outcome IN ('read', 'refused')),
        status integer NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS access_log_subject ON {SCHEMA}.access_log (subject_profile, at DESC)",
    # A listing (an agenda view) is one row naming every profile it showed.
    f"ALTER TABLE {SCHEMA}.access_log ADD COLUMN IF NOT EXISTS profile_ids uuid[]",
    f"CREATE INDEX IF NOT EXISTS access_log_profiles ON {SCHEMA}.access_log USING gin (profile_ids)",
    f"CREATE INDEX IF NOT EXISTS access_log_actor ON {SCHEMA}.access_log (actor_account, at DESC)",
    f"""CREATE OR REPLACE FUNCTION {SCHEMA}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the access log is append-only'; END $$""",
    f"""CREATE OR REPLACE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON {SCHEMA}.access_log
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.append_only()""",
    f"""CREATE OR REPLACE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON {SCHEMA}.access_log
        FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.append_only()""",
]


def install(conn: psycopg.Connection[Any]) -> None:
    for statement in CREATE:
        conn.execute(statement)  # type: ignore[arg-type]


def append(conn: psycopg.Connection[Any], rows: Iterable[dict[str, Any]]) -> int:
    values = [tuple(row.get(c) for c in COLUMNS) for row in rows]
    if not values:
        return 0
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with conn.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {SCHEMA}.access_log ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # type: ignore[arg-type]  # noqa: S608 (constants only)
            values,
        )
    return len(values)


def accesses_to(
    conn: psycopg.Connection[Any], profile_ids: list[UUID], since: datetime | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Reads of and refusals on these profiles' data, latest first (for the patient's page and auditors)."""
    if not profile_ids:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {SCHEMA}.access_log"  # type: ignore[arg-type]  # noqa: S608 (constants only)
            " WHERE (subject_profile = ANY(%s) OR profile_ids && %s::uuid[])"
            " AND (%s::timestamptz IS NULL OR at >= %s)"
            " ORDER BY at DESC, id DESC LIMIT %s",
            (profile_ids, profile_ids, since, since, limit),
        )
        return cur.fetchall()
