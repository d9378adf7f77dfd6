"""The actors. Messages carry only a notification's key; the actor reloads the rest.

Import this module only after `consulta.workers.broker.configure()`.
"""

from __future__ import annotations

import logging

import dramatiq

from . import runtime
from .broker import QUEUE

log = logging.getLogger(__name__)


@dramatiq.actor(queue_name=QUEUE, max_retries=10, min_backoff=1_000, max_backoff=300_000)
def deliver(key: str) -> None:
    """Send notification `key` once. Channel failures are retried from PostgreSQL (see outbox.py);
    dramatiq's own retries cover the rest (the database unreachable, a crash)."""
    outcome = runtime.deliverer().deliver(key)
    log.info("notification %s: %s", key.partition(":")[0], outcome)  # outcomes name no person


@dramatiq.actor(queue_name=QUEUE, max_retries=10, min_backoff=1_000, max_backoff=300_000)
def deliver_many(keys: list[str]) -> None:
    """Send several notifications (the scheduler groups the keys it claimed together).

    A redelivered or retried batch resends nothing: each key already done is skipped."""
    outcomes = runtime.deliverer().deliver_many(keys)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    log.info("notifications: %s", ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))


@dramatiq.actor(queue_name=QUEUE + "_noop")
def noop(key: str) -> None:
    """Does nothing: the benchmarks' baseline for dramatiq's own cost."""


ACTORS = (deliver, deliver_many, noop)
