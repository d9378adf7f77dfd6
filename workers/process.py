"""Running the worker and the scheduler: as processes (`consulta worker`, `consulta scheduler`)
or as threads inside `consulta dev` (an in-memory broker, no Redis)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dramatiq

from consulta.settings import Settings

from . import runtime
from .broker import QUEUE, configure, make_broker
from .scheduler import Scheduler

log = logging.getLogger(__name__)


# The longest the consumer thread sleeps when it has nothing to fetch, or may fetch no more
# (as many messages held as its prefetch, twice the threads): while it sleeps, finished
# messages are not acknowledged and no new ones are fetched, so threads that run dry wait for it.
# With batches of 20 keys (about 0.1 s each), dramatiq's 1 s default, and the 200 ms used before,
# left the worker's threads idle a quarter of the time under a backlog (py-spy, bench/notifications.py).
# Idle, it costs two fetches a second per queue more than 200 ms did.
CONSUMER_WAIT_MS = 50


def utc_now() -> datetime:
    return datetime.now(UTC)


def start_worker(
    broker: dramatiq.Broker, settings: Settings, threads: int = 8, **deliverer_options: Any
) -> dramatiq.Worker:
    configure(broker)
    runtime.install(runtime.build(settings, pool_size=threads, **deliverer_options))
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=threads, worker_timeout=CONSUMER_WAIT_MS)
    worker.start()
    return worker


def run_worker(
    settings: Settings,
    stop: threading.Event,
    threads: int = 8,
    deliverer_options: dict[str, Any] | None = None,
    heartbeat: Path | None = None,
    **broker_options: Any,
) -> None:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL must be set for `consulta worker`")
    broker = make_broker(settings.redis_url, **broker_options)
    worker = start_worker(broker, settings, threads, **(deliverer_options or {}))
    log.info("worker consuming %s with %d threads", QUEUE, threads)
    try:
        while not stop.wait(2.0):
            if heartbeat is not None:
                heartbeat.touch()
    finally:
        worker.stop(timeout=10_000)
        runtime.install(None)


def run_scheduler(
    settings: Settings,
    stop: threading.Event,
    reclaim_after: timedelta = timedelta(minutes=5),
    heartbeat: Path | None = None,
    **broker_options: Any,
) -> None:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL must be set for `consulta scheduler`")
    actors = configure(make_broker(settings.redis_url, **broker_options))
    scheduler = Scheduler(
        settings.database_url,
        settings.read_schema,
        actors.deliver.send,
        utc_now,
        reclaim_after=reclaim_after,
        enqueue_many=actors.deliver_many.send,
    )
    log.info("scheduler claiming due notifications")
    thread = threading.Thread(target=scheduler.run, args=(stop,), name="notification-scheduler", daemon=True)
    thread.start()
    while thread.is_alive() and not stop.wait(2.0):
        if heartbeat is not None:
            heartbeat.touch()
    thread.join(timeout=10)


@dataclass
class InProcess:
    """`consulta dev`: a worker and a scheduler as threads, with an in-memory broker."""

    worker: dramatiq.Worker
    thread: threading.Thread
    stop_event: threading.Event

    @classmethod
    def start(cls, settings: Settings, threads: int = 2) -> InProcess:
        broker = make_broker(None)
        actors = configure(broker)
        worker = start_worker(broker, settings, threads)
        stop = threading.Event()
        scheduler = Scheduler(
            settings.database_url,
            settings.read_schema,
            actors.deliver.send,
            utc_now,
            enqueue_many=actors.deliver_many.send,
        )
        thread = threading.Thread(
            target=scheduler.run, args=(stop,), name="notification-scheduler", daemon=True
        )
        thread.start()
        return cls(worker, thread, stop)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.worker.stop(timeout=5_000)
        runtime.install(None)
