"""Read-your-writes: wait until projections have applied a command's events.

One listener connection per process follows the runners' NOTIFY messages and
wakes the waiting requests; a request never polls the database in a loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

from .base import READ_CHANNEL, positions_table


class PositionWatcher:
    def __init__(self, conninfo: str, schema: str) -> None:
        self.conninfo = conninfo
        self.schema = schema
        self.positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._refresh()
        self._thread = threading.Thread(target=self._listen, name="position-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=3)

    def _refresh(self) -> None:
        with psycopg.connect(self.conninfo) as conn:
            rows = conn.execute(sql.SQL("SELECT name, position FROM {}").format(positions_table(self.schema)))
            self._update(dict(rows.fetchall()))

    def _update(self, found: dict[str, int]) -> None:
        with self._changed:
            for name, position in found.items():
                if position > self.positions.get(name, 0):
                    self.positions[name] = position
            self._changed.notify_all()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(READ_CHANNEL)))
                    self._refresh()  # what happened before LISTEN took effect
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            name, _, position = note.payload.rpartition(":")
                            self._update({name: int(position)})
            except psycopg.OperationalError:
                self._stop.wait(1.0)

    def wait(self, names: Iterable[str], position: int, timeout: float) -> bool:
        """True once every named projection has reached `position`."""
        names = tuple(names)
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(self.positions.get(n, 0) >= position for n in names):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.5))
        return True

    def snapshot(self) -> dict[str, Any]:
        with self._changed:
            return dict(self.positions)
