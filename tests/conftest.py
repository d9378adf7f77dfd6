"""Shared fixtures: a fresh PostgreSQL database per test session, real servers only.

Tests use the PostgreSQL on 127.0.0.1:5432 (or DATABASE_URL's server). Where
none answers, an embedded PostgreSQL is started instead; under CI=true a
missing server fails the run instead, as the CI machine must have one.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from consulta.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_url() -> str:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return ADMIN_URL
    except psycopg.Error as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and did not answer: {error}")
    from consulta.database import start_embedded

    data_dir = Path(tempfile.gettempdir()) / "consulta-test-pg"
    server, url = start_embedded(data_dir)
    _admin_url.server = server  # type: ignore[attr-defined]  # keep it alive
    return url


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


def create_database(admin: str, prefix: str = "consulta_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = conninfo_to_dict(admin)
    info["dbname"] = name
    return make_conninfo(**info)  # type: ignore[arg-type]


def drop_database(admin: str, url: str) -> None:
    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name))))


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    url = create_database(admin_url)
    from consulta.database import migrate

    migrate(Settings(database_url=url, environment="test", secret_key="test"))
    yield url
    drop_database(admin_url, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, environment="test", secret_key="test-secret-key", pool_size=4)


@pytest.fixture(scope="session")
def services(settings: Settings) -> Iterator[Services]:  # noqa: F821
    from consulta.services import Services

    with Services.start(settings) as services:
        services.run_projections()
        yield services


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis is required under CI=true and did not answer: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return REDIS_URL
