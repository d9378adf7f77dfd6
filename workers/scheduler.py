"""The scheduler: claims due rows and hands their keys to the workers.

One transaction claims up to `batch` rows whose time has come (`FOR UPDATE
SKIP LOCKED`, so two schedulers never claim the same row); their keys are
enqueued once it has committed. A row claimed but not done after
`reclaim_after` is enqueued again: that is how work lost on the way (the
scheduler dying between commit and enqueue, Redis flushed or restarted) goes
out anyway. Duplicates are
harmless: the actor does nothing for a row already done.

With `enqueue_many`, the keys of one claim travel in messages of up to
`per_message` keys (`deliver_many`): the broker's cost and the database
connection are shared by a batch, while each key keeps its own transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from consulta.projections.notifications import DUE_CHANNEL

log = logging.getLogger(__name__)

_CLAIM = (
    "WITH c AS (SELECT key FROM {due} WHERE done_at IS NULL AND failed_at IS NULL AND due_at <= %(now)s"
    " AND (claimed_at IS NULL OR claimed_at < %(stale)s) ORDER BY due_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED)"
    " UPDATE {due} d SET claimed_at = %(now)s FROM c WHERE d.key = c.key RETURNING d.key"
)


class Scheduler:
    def __init__(
        self,
        database_url: str,
        schema: str,
        enqueue: Callable[[str], Any],
        clock: Callable[[], datetime],
        *,
        reclaim_after: timedelta = timedelta(minutes=5),
        batch: int = 500,
        enqueue_many: Callable[[list[str]], Any] | None = None,
        per_message: int = 20,
        spread: int = 8,
    ) -> None:
        self.database_url, self.enqueue, self.clock = database_url, enqueue, clock
        self.reclaim_after, self.batch = reclaim_after, batch
        self.enqueue_many, self.per_message, self.spread = enqueue_many, per_message, spread
        self.claim_sql = sql.SQL(_CLAIM).format(
            due=sql.SQL("{}.notification_due").format(sql.Identifier(schema))
        )
        self._conn: psycopg.Connection[Any] | None = None

    def claim_once(self) -> int:
        """Claim and enqueue one batch; returns how many."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url)
        now = self.clock()
        with self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute(self.claim_sql, {"now": now, "stale": now - self.reclaim_after, "batch": self.batch})
            keys = [row[0] for row in cur.fetchall()]
        # After the commit: a worker that got the key before it would find the row still locked by the claim.
        if self.enqueue_many is None or len(keys) == 1:
            for key in keys:
                self.enqueue(key)
        else:
            # At least `spread` messages (one per worker thread), none over `per_message` keys.
            count = max(-(-len(keys) // self.per_message), min(len(keys), self.spread))
            for first in range(count):
                self.enqueue_many(keys[first::count])
        return len(keys)

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Claim whenever the projection NOTIFYs new rows, and at least every `poll_seconds`."""
        listener = psycopg.connect(self.database_url, autocommit=True)
        try:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(DUE_CHANNEL)))
            while not stop.is_set():
                try:
                    while self.claim_once() == self.batch:
                        pass
                except (psycopg.OperationalError, OSError) as error:
                    log.warning("scheduler: %s; retrying", type(error).__name__)
                    self.close()
                    stop.wait(poll_seconds)
                    continue
                for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                    pass
        finally:
            listener.close()
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
