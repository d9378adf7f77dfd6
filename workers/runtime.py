"""The per-process Deliverer the actors use, built on first use (after any fork)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from consulta.settings import Settings

from .email import email_sender
from .outbox import Deliverer
from .sms import sms_sender

_lock = threading.Lock()
_deliverer: Deliverer | None = None


def _asynchronous_commit(conn: psycopg.Connection[Any]) -> None:
    """The worker's commits return before PostgreSQL has flushed them to disk (they are visible
    to every other session at once). Waiting for the flush of each sent message's record was
    the worker's main wait under load; what it protects against is PostgreSQL itself crashing
    within a fraction of a second of a send, and then the message goes twice, never not at all
    (docs/notifications.md, "Delivery guarantees")."""
    conn.execute("SET synchronous_commit = off")


def build(settings: Settings, pool_size: int = 4, **options: Any) -> Deliverer:
    pool = ConnectionPool(
        settings.database_url,
        min_size=1,
        max_size=pool_size,
        open=True,
        name="notifications",
        kwargs={"autocommit": True},  # the Deliverer commits each statement (workers/outbox.py)
        configure=_asynchronous_commit,
    )
    return Deliverer(
        pool,
        settings.read_schema,
        email_sender(settings),
        sms_sender(settings),
        settings.base_url,
        clock=lambda: datetime.now(UTC),
        **options,
    )


def install(deliverer: Deliverer | None) -> None:
    global _deliverer
    with _lock:
        _deliverer = deliverer


def deliverer() -> Deliverer:
    global _deliverer
    with _lock:
        if _deliverer is None:
            _deliverer = build(Settings.from_env(secret_key="unused-by-workers"))  # noqa: S106 (signs nothing)
        return _deliverer
