"""The event store's write path: one round trip per save, commit order kept.

The library's Postgres recorder sends BEGIN, SET LOCAL, LOCK TABLE, NOTIFY,
INSERT and COMMIT (two round trips in pipeline mode). This recorder sends one
statement instead: a PL/pgSQL function that takes the same EXCLUSIVE table
lock first, then notifies and inserts, in the statement's own transaction.
Taking the lock before the insert draws notification ids keeps insert order
equal to commit order, so a projection following the log never skips an event
(the library's own POSTGRES_ENABLE_DB_FUNCTIONS function takes no lock and
does skip: never enable it). The function is named after the events table, so
two applications sharing a schema never call each other's.

Chosen with APPLICATION_RECORDER_TOPIC (see Settings.eventsourcing_env); the
function is created with the table, by `consulta migrate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

TOPIC = "consulta.recorder:ConsultaRecorder"


class ConsultaRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_function_name = f"{events_table_name}_insert"
        self.check_identifier_length(self.insert_function_name)
        schema = Identifier(self.datastore.schema)
        function = Identifier(self.insert_function_name)
        lock_timeout: SQL | Composed = SQL("")
        if self.datastore.lock_timeout:
            lock_timeout = SQL("PERFORM set_config('lock_timeout', '{0}s', true); ").format(
                self.datastore.lock_timeout
            )
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event_type}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
                "{lock_timeout}"
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} AS t "
                "(originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=function,
                event_type=Identifier(self.stored_event_type_name),
                lock_timeout=lock_timeout,
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name),
            )
        )
        self.insert_call = SQL("SELECT * FROM {schema}.{function}(%s)").format(
            schema=schema, function=function
        )
        self._select_statements: dict[tuple[bool, bool, bool, bool], str] = {}

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit  # the statement is its own transaction
            curs.execute(self.insert_call, (rows,), prepare=True)
            return [row[self.insert_function_name] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """As the library's, with each statement's text composed once, not on every load."""
        key = (gt is not None, lte is not None, desc, limit is not None)
        params = [originator_id, *(v for v in (gt, lte, limit) if v is not None)]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            statement = self._select_statements.get(key)
            if statement is None:
                composed = self.select_events_statement
                if gt is not None:
                    composed += SQL(" AND originator_version > %s")
                if lte is not None:
                    composed += SQL(" AND originator_version <= %s")
                composed += SQL(
                    " ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC"
                )
                if limit is not None:
                    composed += SQL(" LIMIT %s")
                statement = self._select_statements[key] = composed.as_string(conn)
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


def project_events(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance(..., CanMutateProtocol)` assert.

    On Python 3.11 an isinstance check against a runtime Protocol walks the
    protocol's attributes every time (about a tenth of a booking's CPU); the
    events come from our own event classes, which all have `mutate`.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class ConsultaRepository(Repository[UUID]):
    """The library's repository, loading aggregates through `project_events`."""

    def get(
        self,
        aggregate_id: Any,
        *,
        version: int | None = None,
        projector_func: Any = project_events,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )
