"""docs/configuration.md lists every environment variable Consulta reads, with true defaults."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path

import click
import pytest

from consulta.cli import main
from consulta.settings import Settings
from tests.ops.conftest import ROOT

DOC = (ROOT / "docs" / "configuration.md").read_text()
ROW = re.compile(r"^\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|\s*(?P<default>[^|]*?)\s*\|", re.MULTILINE)
NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{2,}$")
PACKAGE_FOLDERS = ("src", "aggregates", "projections", "http", "workers", "media")


def documented() -> dict[str, str]:
    """Variable -> its documented default (the text in backticks, or '' when it has none)."""
    found: dict[str, str] = {}
    for match in ROW.finditer(DOC):
        default = re.fullmatch(r"`([^`]*)`", match["default"])
        found.setdefault(match["name"], default[1] if default else "")
    return found


def read_by_settings() -> set[str]:
    """Every variable name written in `Settings.from_env` (literal names: the code reads them by name)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Settings.from_env)))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value)
    }


def read_directly(files: list[Path]) -> set[str]:
    """Names read with os.environ[...], os.environ.get(...) or os.getenv(...)."""
    names: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            key = None
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
            elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.environ.get", "os.getenv"):
                key = node.args[0] if node.args else None
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
    return names


def package_files() -> list[Path]:
    return [p for folder in PACKAGE_FOLDERS for p in (ROOT / folder).rglob("*.py")]


def click_envvars(command: click.Command) -> set[str]:
    found = {p.envvar for p in command.params if isinstance(p.envvar, str)}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found |= click_envvars(sub)
    return found


def compose_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "compose.yaml").read_text()))


def test_the_settings_reader_is_seen_reading_variables() -> None:
    assert {"DATABASE_URL", "REDIS_URL", "CONSULTA_SECRET_KEY", "CONSULTA_HOLD_MINUTES"} <= read_by_settings()


def test_every_variable_consulta_reads_is_documented() -> None:
    read = read_by_settings() | read_directly(package_files()) | click_envvars(main) | compose_variables()
    missing = read - set(documented())
    assert not missing, f"document these in docs/configuration.md: {sorted(missing)}"


def test_every_variable_the_tests_read_is_documented() -> None:
    tests = [p for p in (ROOT / "tests").rglob("conftest.py")]
    missing = read_directly(tests) - set(documented())
    assert not missing, f"document these in docs/configuration.md: {sorted(missing)}"


def test_nothing_documented_is_read_by_nobody() -> None:
    read = (
        read_by_settings()
        | read_directly(package_files())
        | read_directly(list((ROOT / "tests").rglob("*.py")))
        | click_envvars(main)
        | compose_variables()
    )
    stale = set(documented()) - read
    assert not stale, f"no code reads these any more: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(n for n in read_by_settings() if documented().get(n)))
def test_a_documented_default_is_the_real_default(name: str) -> None:
    default = documented()[name]
    base = {"CONSULTA_SECRET_KEY": "doc-test"}
    plain = Settings.from_env(base)
    explicit = Settings.from_env({**base, name: default})
    assert dataclasses.replace(explicit, secret_key="") == dataclasses.replace(plain, secret_key="")


def test_a_malformed_number_names_its_variable() -> None:
    with pytest.raises(ValueError, match="CONSULTA_HOLD_MINUTES"):
        Settings.from_env({"CONSULTA_SECRET_KEY": "doc-test", "CONSULTA_HOLD_MINUTES": "five"})
