"""The wiring: one object holding the application, read models and runners of a process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from consulta.application import Consulta
from consulta.clock import Clock, SystemClock
from consulta.projections import PROJECTIONS
from consulta.projections.base import ProjectionRunner
from consulta.projections.positions import PositionWatcher
from consulta.projections.views import ReadModels
from consulta.settings import Settings

log = logging.getLogger(__name__)

# The projections a page reads after each kind of command.
BOOKING_VIEWS = ("agenda", "patient_appointments")


def run_projection(settings: Settings, name: str, stop: threading.Event) -> None:
    """Follow the event log with one projection until `stop` is set."""
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        ProjectionRunner(app, PROJECTIONS[name](settings.read_schema), settings.database_url).run_forever(
            stop
        )
    finally:
        app.close()


@dataclass
class Services:
    settings: Settings
    app: Consulta
    reads: ReadModels
    watcher: PositionWatcher
    clock: Clock = field(default_factory=SystemClock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, settings: Settings, clock: Clock | None = None, *, watch: bool = True) -> Services:
        app = Consulta(env=settings.eventsourcing_env())
        reads = ReadModels(settings.database_url, settings.read_schema, settings.pool_size)
        watcher = PositionWatcher(settings.database_url, settings.read_schema)
        if watch:
            watcher.start()
        return cls(settings, app, reads, watcher, clock or SystemClock())

    def run_projections(self, names: list[str] | None = None) -> None:
        """Run projection runners in threads of this process (`consulta dev`, tests)."""
        for name in names or list(PROJECTIONS):
            thread = threading.Thread(
                target=run_projection,
                args=(self.settings, name, self._stop),
                name=f"projection-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def wait_for(self, position: int, names: tuple[str, ...] = tuple(PROJECTIONS)) -> bool:
        if position <= 0:
            return True
        return self.watcher.wait(names, position, self.settings.projection_wait_seconds)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.watcher.stop()
        self.reads.close()
        self.app.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
