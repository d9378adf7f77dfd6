"""The `consulta` command against real databases: migrate, seed, practitioner add, rebuild, dev."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from consulta import seed as demo
from consulta.cli import main
from tests.conftest import create_database, drop_database
from tests.ops.conftest import consulta_argv, free_port


@pytest.fixture
def empty_database(admin_url: str) -> Iterator[str]:
    """A database of its own, not migrated yet."""
    url = create_database(admin_url, "consulta_cli")
    yield url
    drop_database(admin_url, url)


def consulta(url: str, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url, "CONSULTA_SECRET_KEY": "", **env})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    # What the command says goes to stdout, errors to stderr (which may also
    # carry log lines of other threads of this test process).
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_migrate_then_seed_records_the_demo_once(empty_database: str) -> None:
    assert consulta(empty_database, "migrate") == (0, "Database is up to date.\n")
    assert consulta(empty_database, "migrate")[0] == 0  # idempotent
    code, output = consulta(empty_database, "seed")
    assert code == 0
    assert demo.DEMO_PASSWORD in output
    assert all(login.email in output for login in demo.demo_logins())
    events = count(empty_database, "SELECT count(*) FROM events.consulta_events")
    assert events > 0
    # A past visit, honoured: the first patient is a known patient of the first practitioner.
    for topic in ("consulta.Appointment.Honoured", "consulta.KnownPatient.Recorded"):
        assert (
            count(empty_database, f"SELECT count(*) FROM events.consulta_events WHERE topic = '{topic}'") == 1
        )

    code, output = consulta(empty_database, "seed")
    assert (code, output) == (0, "The log already holds practitioners: nothing recorded.\n")
    assert count(empty_database, "SELECT count(*) FROM events.consulta_events") == events


def test_seed_leaves_a_log_that_already_has_a_practitioner_alone(empty_database: str) -> None:
    consulta(empty_database, "migrate")
    code, _ = consulta(
        empty_database,
        *("practitioner", "add", "--email", "Dr.Real@Example.org", "--name", "Dr Réelle"),
        *("--specialty", "Cardiologist", "--city", "Rennes"),
        CONSULTA_PRACTITIONER_PASSWORD="a long enough password",
    )
    assert code == 0
    before = count(empty_database, "SELECT count(*) FROM events.consulta_events")
    assert consulta(empty_database, "seed")[0] == 0
    assert count(empty_database, "SELECT count(*) FROM events.consulta_events") == before


def test_practitioner_add_refuses_bad_input_and_records_nothing(empty_database: str) -> None:
    consulta(empty_database, "migrate")
    args = (
        "practitioner",
        "add",
        "--email",
        "dr@example.org",
        "--name",
        "Dr A",
        "--specialty",
        "GP",
        "--city",
        "Lyon",
    )
    code, output = consulta(empty_database, *args, CONSULTA_PRACTITIONER_PASSWORD="short")
    assert code == 1 and "10 to 256 characters" in output
    code, output = consulta(
        empty_database,
        *args,
        "--timezone",
        "Mars/Olympus",
        CONSULTA_PRACTITIONER_PASSWORD="long enough password",
    )
    assert code == 1 and "time zone" in output
    assert count(empty_database, "SELECT count(*) FROM events.consulta_events") == 0
    assert consulta(empty_database, *args, CONSULTA_PRACTITIONER_PASSWORD="long enough password")[0] == 0
    code, output = consulta(empty_database, *args, CONSULTA_PRACTITIONER_PASSWORD="long enough password")
    assert code == 1 and "already uses this e-mail" in output


def test_rebuild_reports_events_and_rate_and_keeps_the_rows(empty_database: str) -> None:
    consulta(empty_database, "migrate")
    consulta(empty_database, "seed")
    # No projector runs here: only the rebuild fills the directory.
    assert count(empty_database, "SELECT count(*) FROM read.practitioners") == 0
    code, output = consulta(empty_database, "rebuild", "practitioner_directory")
    assert code == 0
    match = re.fullmatch(
        r"Rebuilt practitioner_directory: (\d+) events in [\d.]+ s \(([\d,]+) events/s\)\.\n", output
    )
    assert match and int(match[1]) > 0
    assert count(empty_database, "SELECT count(*) FROM read.practitioners") == len(demo.PRACTITIONERS)
    code, output = consulta(empty_database, "rebuild", "nothing_of_the_kind")
    assert code == 2 and "Invalid value" in output


@pytest.mark.slow
def test_dev_starts_an_embedded_postgres_seeds_it_and_stops_it(tmp_path: Path) -> None:
    """`consulta dev` without DATABASE_URL: the first try of a new user."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CONSULTA_", "REDIS_"))}
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            consulta_argv(["consulta", "dev", "--port", str(port)]),
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"consulta dev did not start:\n{log.read_text()}")
        output = log.read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert demo.DEMO_PASSWORD in output and demo.PRACTITIONERS[0]["email"] in output
        assert (tmp_path / ".consulta" / "pgdata" / "PG_VERSION").exists()
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"email": demo.PATIENTS[0]["email"], "password": demo.DEMO_PASSWORD},
        )
        assert login.status_code == 200, login.text
        found = httpx.get(f"http://127.0.0.1:{port}/api/v1/practitioners", params={"city": "Bordeaux"}).json()
        assert [p["name"] for p in found["items"]] == ["Dr Inès Moreau"]
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
    assert code == 0, log.read_text()
    assert not (tmp_path / ".consulta" / "pgdata" / "postmaster.pid").exists(), (
        "the embedded server still runs"
    )


def test_an_unreachable_database_is_one_clear_line() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/consulta?connect_timeout=2"
    code, output = consulta(url, "migrate")
    assert code == 1
    assert "Error: cannot reach PostgreSQL:" in output and "Traceback" not in output
