"""`consulta worker`, `consulta scheduler` and `consulta notifications failed|retry` (docs/notifications.md)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import sql

from consulta.settings import Settings

log = logging.getLogger("consulta")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@contextlib.contextmanager
def _migrated() -> Iterator[None]:
    try:
        yield
    except psycopg.errors.UndefinedTable:
        raise click.ClickException("the notification tables are missing: run `consulta migrate`") from None


def _broker_options(namespace: str, heartbeat_timeout: int) -> dict[str, Any]:
    return {"namespace": namespace, "heartbeat_timeout_ms": heartbeat_timeout}


def register(main: click.Group, load_settings: Any) -> None:
    """Add the commands to the `consulta` group."""

    namespace_option = click.option(
        "--namespace", default="consulta", show_default=True, help="Prefix of the Redis keys (queues)."
    )
    heartbeat_option = click.option(
        "--heartbeat-timeout",
        default=60_000,
        show_default=True,
        help="Milliseconds after which the messages of a dead worker are delivered again.",
    )

    heartbeat_file = click.option(
        "--heartbeat",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File touched every 2 s while the process works (for health checks).",
    )

    @main.command()
    @heartbeat_file
    @click.option("--threads", default=8, show_default=True, help="Messages handled at once.")
    @click.option(
        "--retry-backoff",
        default=15.0,
        show_default=True,
        help="Seconds before the first retry of a failed send (doubles).",
    )
    @click.option(
        "--max-attempts", default=8, show_default=True, help="Attempts before a notification is dead."
    )
    @namespace_option
    @heartbeat_option
    def worker(
        heartbeat: Path | None,
        threads: int,
        retry_backoff: float,
        max_attempts: int,
        namespace: str,
        heartbeat_timeout: int,
    ) -> None:
        """Send notifications (dramatiq on REDIS_URL) until SIGTERM or SIGINT."""
        from consulta.workers.process import run_worker

        settings: Settings = load_settings()
        options = {"backoff": timedelta(seconds=retry_backoff), "max_attempts": max_attempts}
        try:
            run_worker(
                settings,
                _stop_on_signals(),
                threads,
                options,
                heartbeat,
                **_broker_options(namespace, heartbeat_timeout),
            )
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None

    @main.command()
    @heartbeat_file
    @click.option(
        "--reclaim-after",
        default=300.0,
        show_default=True,
        help="Seconds after which a claimed but unsent notification is enqueued again (Redis lost it).",
    )
    @namespace_option
    @heartbeat_option
    def scheduler(
        heartbeat: Path | None, reclaim_after: float, namespace: str, heartbeat_timeout: int
    ) -> None:
        """Claim due notifications in PostgreSQL and enqueue them; run exactly one."""
        from consulta.workers.process import run_scheduler

        settings: Settings = load_settings()
        try:
            run_scheduler(
                settings,
                _stop_on_signals(),
                timedelta(seconds=reclaim_after),
                heartbeat,
                **_broker_options(namespace, heartbeat_timeout),
            )
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None

    @main.group()
    def notifications() -> None:
        """Inspect and replay notifications that failed for good (the dead letters)."""

    @notifications.command("failed")
    @click.option("--limit", default=100, show_default=True)
    def failed(limit: int) -> None:
        """List failed notifications: key, attempts, when, last error (no addresses)."""
        settings: Settings = load_settings()
        with psycopg.connect(settings.database_url) as conn, _migrated():
            rows = conn.execute(
                sql.SQL(
                    "SELECT key, attempts, failed_at, coalesce(last_error, '') FROM {}.notification_due"
                    " WHERE failed_at IS NOT NULL ORDER BY failed_at LIMIT %s"
                ).format(sql.Identifier(settings.read_schema)),
                (limit,),
            ).fetchall()
        if not rows:
            click.echo("No failed notification.")
        for key, attempts, failed_at, error in rows:
            click.echo(f"{key}\t{attempts} attempts\t{failed_at.isoformat(timespec='seconds')}\t{error}")

    @notifications.command("retry")
    @click.argument("key")
    def retry(key: str) -> None:
        """Send a failed notification again (KEY as `failed` lists it, or `all`)."""
        settings: Settings = load_settings()
        with psycopg.connect(settings.database_url) as conn, _migrated():
            count = conn.execute(
                sql.SQL(
                    "UPDATE {}.notification_due SET failed_at = NULL, claimed_at = NULL, attempts = 0,"
                    " due_at = now() WHERE failed_at IS NOT NULL AND (%s = 'all' OR key = %s)"
                ).format(sql.Identifier(settings.read_schema)),
                (key, key),
            ).rowcount
        if count == 0:
            raise click.ClickException(f"no failed notification {key}")
        click.echo(f"{count} notification(s) will be sent again by the next scheduler pass.")
