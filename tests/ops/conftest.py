"""Helpers for the deployment tests: compose.yaml read as Compose reads it, and `consulta` argv."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` substitution."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        found = env.get(name)
        if op in (":-", "-"):
            return found if found else arg
        if op in (":?", "?"):
            if not found:
                raise KeyError(f"compose needs {name}: {arg}")
            return found
        return found or ""

    return _VARIABLE.sub(substitute, value)


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return interpolate(raw, env if env is not None else {"CONSULTA_SECRET_KEY": "compose-test-secret"})


def consulta_argv(command: list[str]) -> list[str]:
    """A compose command run with this test's Python: `consulta ...` -> the venv's script."""
    assert command[0] == "consulta", command
    script = Path(sys.executable).parent / "consulta"
    if script.exists():
        return [str(script), *command[1:]]
    found = shutil.which("consulta")
    return [found, *command[1:]] if found else [sys.executable, "-m", "consulta", *command[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_option(argv: list[str], option: str, value: str) -> list[str]:
    """Replace the value of `option` in argv (the test listens on loopback and a free port)."""
    index = argv.index(option)
    return [*argv[: index + 1], value, *argv[index + 2 :]]


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_compose()


def process_env(service: dict[str, Any], **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSULTA_", "DATABASE_", "REDIS_"))}
    env.update({k: str(v) for k, v in service.get("environment", {}).items()})
    env.update(overrides)
    return env
