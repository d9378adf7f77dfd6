"""Projections: read-model tables written from the event log, in batches.

A projection owns its tables (in the read schema) and one handler per event
class. The runner reads up to `batch` notifications after the projection's
position, applies them and moves the position in one transaction, so each
event lands exactly once; the row lock on the position makes a second runner
of the same projection (or a rebuild) wait instead of applying twice.

Handlers only write (no reads back into Python), so a batch is sent in
psycopg's pipeline mode: one round trip for many statements.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import psycopg
from eventsourcing.application import Application
from psycopg import sql

log = logging.getLogger(__name__)

POSITIONS_TABLE = "projection_positions"
READ_CHANNEL = "consulta_read"


class Projection:
    """Subclass with a `name`, `tables` (name -> column DDL) and handlers."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]] = {}
    indexes: ClassVar[
        Sequence[str]
    ] = ()  # "(table) column list" pairs: "agenda_appointments (practitioner_id, starts_at)"
    # Columns not derived from events (written by workers, or stamped with now() when projected):
    # a rebuild resets them, so the rebuild test leaves them out. table -> column names.
    worker_columns: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._rendered: dict[str, str] = {}

    def table(self, name: str) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(name))

    def create_statements(self) -> list[sql.Composed]:
        statements: list[sql.Composed] = []
        for name, columns in self.tables.items():
            statements.append(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} (" + columns + ")").format(self.table(name))
            )
        for i, spec in enumerate(self.indexes):
            table, _, columns = spec.partition(" ")
            index = sql.Identifier(f"{table}_ix{i}")
            statements.append(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} " + columns).format(index, self.table(table))
            )
        return statements

    def drop_statements(self) -> list[sql.Composed]:
        return [sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(self.table(n)) for n in self.tables]

    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Each subclass defines this as its own `singledispatchmethod`, one handler per event."""
        raise NotImplementedError

    def execute(
        self, cur: psycopg.Cursor[Any], statement: str, params: Sequence[Any] | dict[str, Any]
    ) -> None:
        # Composing the statement costs more than sending it: render each one once.
        rendered = self._rendered.get(statement)
        if rendered is None:
            composed = sql.SQL(statement).format(**{n: self.table(n) for n in self.tables})
            rendered = self._rendered[statement] = composed.as_string(cur)
        cur.execute(rendered, params)


def positions_table(schema: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(POSITIONS_TABLE))


def create_positions_table(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL DEFAULT 0, "
            "updated_at timestamptz NOT NULL DEFAULT now())"
        ).format(positions_table(schema))
    )


def install(conn: psycopg.Connection[Any], projection: Projection) -> None:
    """Create the projection's tables and its position row (idempotent)."""
    for statement in projection.create_statements():
        conn.execute(statement)
    conn.execute(
        sql.SQL("INSERT INTO {} (name) VALUES (%s) ON CONFLICT DO NOTHING").format(
            positions_table(projection.schema)
        ),
        (projection.name,),
    )


class ProjectionRunner:
    """Applies the event log to one projection, batch by batch."""

    def __init__(self, app: Application, projection: Projection, conninfo: str, batch: int = 1000) -> None:
        self.app = app
        self.projection = projection
        self.conninfo = conninfo
        self.batch = batch
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def run_once(self) -> int:
        """Apply the next batch; return how many events it held (0: caught up)."""
        conn = self.conn
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                sql.SQL("SELECT position FROM {} WHERE name = %s FOR UPDATE").format(
                    positions_table(self.projection.schema)
                ),
                (self.projection.name,),
            )
            row = cur.fetchone()
            if row is None:
                raise RuntimeError(f"projection {self.projection.name} is not installed: run migrate")
            notifications = self.app.recorder.select_notifications(
                start=row[0], limit=self.batch, inclusive_of_start=False
            )
            if not notifications:
                return 0
            self.apply(cur, notifications)
            cur.execute(
                sql.SQL("UPDATE {} SET position = %s, updated_at = now() WHERE name = %s").format(
                    positions_table(self.projection.schema)
                ),
                (notifications[-1].id, self.projection.name),
            )
            cur.execute(
                sql.SQL("SELECT pg_notify({}, %s)").format(sql.Literal(READ_CHANNEL)),
                (f"{self.projection.name}:{notifications[-1].id}",),
            )
        return len(notifications)

    def apply(self, cur: psycopg.Cursor[Any], notifications: Iterable[Any]) -> None:
        to_event = self.app.mapper.to_domain_event
        process = self.projection.process  # bind the dispatcher once, not once per event
        with cur.connection.pipeline():
            for notification in notifications:
                process(to_event(notification), cur)

    def catch_up(self) -> int:
        total = 0
        while count := self.run_once():
            total += count
        return total

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Catch up, then wait for the event store's notifications (or a poll)."""
        channel = getattr(self.app.recorder, "channel_name", None)
        listener = psycopg.connect(self.conninfo, autocommit=True)
        try:
            if channel:
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            while not stop.is_set():
                try:
                    if self.catch_up():
                        continue
                except psycopg.OperationalError:
                    log.warning("projection %s lost its connection; retrying", self.projection.name)
                    self._conn = None
                    stop.wait(poll_seconds)
                    continue
                for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                    pass
        finally:
            listener.close()
            self.close()
