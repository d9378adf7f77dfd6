"""Dependencies point inwards: the layer rules import-linter cannot see.

`lint-imports` checks the contracts in pyproject.toml, but its import graph
skips `consulta.http` (the http/ folder has no __init__.py on purpose). These
tests read every module's imports with `ast` and check the rules that involve
the web layer, plus those of the domain, so both tools agree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.ops.conftest import ROOT

FOLDERS = {
    "aggregates": "consulta.aggregates",
    "projections": "consulta.projections",
    "http": "consulta.http",
    "workers": "consulta.workers",
    "media": "consulta.media",
    "src/consulta": "consulta",
}

# folder -> modules (and their submodules) it must not import
FORBIDDEN = {
    "aggregates": (
        "consulta.application",
        "consulta.projections",
        "consulta.http",
        "consulta.workers",
        "consulta.media",
        "consulta.services",
        "consulta.database",
        "litestar",
        "psycopg",
        "psycopg_pool",
        "dramatiq",
        "redis",
        "aiortc",
        "jinja2",
    ),
    "projections": ("consulta.http", "consulta.workers", "consulta.media", "litestar", "dramatiq", "aiortc"),
    "workers": ("consulta.http", "consulta.media", "litestar", "aiortc"),
    "media": ("consulta.http", "consulta.workers", "psycopg", "psycopg_pool", "dramatiq"),
}
# Of the kernel, only the command line wires the web layer in.
KERNEL_MAY_IMPORT_HTTP = {"cli.py", "account_cli.py"}  # account_cli: ends sessions in the web stores


def module_name(folder: str, path: Path) -> str:
    relative = path.relative_to(ROOT / folder).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([FOLDERS[folder], *parts])


def imports_of(folder: str, path: Path) -> set[str]:
    module = module_name(folder, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in imports_of(folder, path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_relative_imports_are_resolved_to_their_package() -> None:
    assert "consulta.aggregates.errors" in imports_of("aggregates", ROOT / "aggregates" / "rules.py")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_further_out(folder: str) -> None:
    if not (ROOT / folder).is_dir():
        pytest.skip(f"no {folder}/ yet")
    assert violations(folder, FORBIDDEN[folder]) == []


def test_the_check_would_catch_a_forbidden_import() -> None:
    found = violations("http", ("consulta.application",))
    assert found, "http/ imports consulta.application, so this forbidden list must report it"


def test_only_the_command_line_of_the_kernel_imports_the_web_layer() -> None:
    importers = {
        path.name
        for path in (ROOT / "src" / "consulta").rglob("*.py")
        if any(
            n == "consulta.http" or n.startswith("consulta.http.") for n in imports_of("src/consulta", path)
        )
    }
    assert importers <= KERNEL_MAY_IMPORT_HTTP
