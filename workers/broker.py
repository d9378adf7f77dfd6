"""The dramatiq broker: Redis in production, an in-memory one for `consulta dev`.

`configure()` must run before `consulta.workers.actors` is imported (dramatiq
binds actors to the broker set at import time); it imports the actors itself
and returns them. Nothing here opens a database connection: build those in
the process that runs the actors, never in a parent that forks.
"""

from __future__ import annotations

from types import ModuleType

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

QUEUE = "notifications"


def make_broker(
    redis_url: str | None,
    *,
    namespace: str = "consulta",
    heartbeat_timeout_ms: int = 60_000,
    maintenance_chance: int = 10_000,  # in a million commands; dramatiq's 1,000 requeues a dead worker's messages late
) -> dramatiq.Broker:
    """A Redis broker (messages of a killed worker come back after `heartbeat_timeout_ms`), or a stub one."""
    if redis_url is None:
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
        return broker
    return RedisBroker(
        url=redis_url,
        namespace=namespace,
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )


def configure(broker: dramatiq.Broker) -> ModuleType:
    """Make `broker` the global one, then import (or rebind) the actors; returns the actors module."""
    dramatiq.set_broker(broker)
    from consulta.workers import actors

    for actor in actors.ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)
    return actors
