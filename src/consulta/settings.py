"""Settings, read once from the environment (see docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from psycopg.conninfo import conninfo_to_dict

from consulta.sealing import split_keys


def _int(env: dict[str, str], key: str, default: int) -> int:
    value = env.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{key} must be a whole number") from None


def _bool(env: dict[str, str], key: str, default: bool) -> bool:
    value = (env.get(key) or "").strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{key} must be true or false")


@dataclass(frozen=True)
class Settings:
    database_url: str = "postgresql://127.0.0.1:5432/postgres"
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    # Earlier secret keys, newest first: sealed secrets still open with them (docs/security.md, rotation).
    previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    environment: str = "production"  # "production", "dev" or "test"
    base_url: str = "http://127.0.0.1:8000"
    events_schema: str = "events"
    read_schema: str = "read"
    pool_size: int = 5
    hold_minutes: int = 5
    session_idle_minutes: int = 30
    api_token_hours: int = 12
    login_rate_per_minute: int = 10
    booking_rate_per_minute: int = 60
    max_body_bytes: int = 64 * 1024
    projection_wait_seconds: float = 5.0
    # Notifications (docs/notifications.md): e-mail over SMTP, SMS through an HTTP gateway.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    smtp_from: str = "Consulta <no-reply@localhost>"
    smtp_ca_file: str | None = None
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = field(default=None, repr=False)
    sms_sender: str = "Consulta"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        if env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if env.get("REDIS_URL"):
            values["redis_url"] = env["REDIS_URL"]
        if env.get("CONSULTA_SECRET_KEY"):
            values["secret_key"] = env["CONSULTA_SECRET_KEY"]
        values["previous_secret_keys"] = split_keys(env.get("CONSULTA_PREVIOUS_SECRET_KEYS"))
        for key, attr in (
            ("CONSULTA_ENV", "environment"),
            ("CONSULTA_BASE_URL", "base_url"),
            ("CONSULTA_EVENTS_SCHEMA", "events_schema"),
            ("CONSULTA_READ_SCHEMA", "read_schema"),
            ("SMTP_HOST", "smtp_host"),
            ("SMTP_USER", "smtp_user"),
            ("SMTP_PASSWORD", "smtp_password"),
            ("SMTP_FROM", "smtp_from"),
            ("SMTP_CA_FILE", "smtp_ca_file"),
            ("SMS_GATEWAY_URL", "sms_gateway_url"),
            ("SMS_GATEWAY_TOKEN", "sms_gateway_token"),
            ("SMS_SENDER", "sms_sender"),
        ):
            if env.get(key):
                values[attr] = env[key]
        values["smtp_starttls"] = _bool(env, "SMTP_STARTTLS", True)
        for key, attr, default in (
            ("CONSULTA_DB_POOL_SIZE", "pool_size", 5),
            ("CONSULTA_HOLD_MINUTES", "hold_minutes", 5),
            ("CONSULTA_SESSION_IDLE_MINUTES", "session_idle_minutes", 30),
            ("CONSULTA_API_TOKEN_HOURS", "api_token_hours", 12),
            ("CONSULTA_LOGIN_RATE_PER_MINUTE", "login_rate_per_minute", 10),
            ("CONSULTA_BOOKING_RATE_PER_MINUTE", "booking_rate_per_minute", 60),
            ("CONSULTA_MAX_BODY_BYTES", "max_body_bytes", 64 * 1024),
            ("SMTP_PORT", "smtp_port", 587),
        ):
            values[attr] = _int(env, key, default)
        values.update(overrides)
        settings = cls(**values)
        secret_missing = not env.get("CONSULTA_SECRET_KEY") and "secret_key" not in overrides
        if settings.environment == "production" and secret_missing:
            raise RuntimeError("CONSULTA_SECRET_KEY must be set in production")
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def is_dev(self) -> bool:
        return self.environment in ("dev", "test")

    def eventsourcing_env(self) -> dict[str, str]:
        """The `eventsourcing` library's settings for the event store."""
        info = conninfo_to_dict(self.database_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(info.get("dbname", "postgres")),
            "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(info.get("port", "5432")),
            "POSTGRES_USER": str(info.get("user", "postgres")),
            "POSTGRES_PASSWORD": str(info.get("password", "")),
            "POSTGRES_SCHEMA": self.events_schema,
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.pool_size),
            "CREATE_TABLE": "no",
            # One round trip per save, table lock kept (docs/performance.md).
            "APPLICATION_RECORDER_TOPIC": "consulta.recorder:ConsultaRecorder",
            # The application seals second-factor secrets with this key (consulta.totp_seal), and opens
            # them with it or an earlier one: the keys these settings hold, whatever the process
            # environment says.
            "CONSULTA_SECRET_KEY": self.secret_key,
            "CONSULTA_PREVIOUS_SECRET_KEYS": " ".join(self.previous_secret_keys),
        }
