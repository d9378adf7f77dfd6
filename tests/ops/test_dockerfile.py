"""The Dockerfile: one slim Python 3.11 image, a non-root user, no secrets, every package folder copied."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.ops.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def instructions(keyword: str) -> list[str]:
    return [line.split(None, 1)[1] for line in INSTRUCTIONS if line.split(None, 1)[0].upper() == keyword]


def package_folders() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {folder.split("/")[0] for folder in pyproject["tool"]["setuptools"]["package-dir"].values()}


def copied_paths() -> set[str]:
    found: set[str] = set()
    for args in instructions("COPY"):
        found.update(p.rstrip("/") for p in args.split()[:-1] if not p.startswith("--"))
    return found


def test_the_image_is_python_311_slim() -> None:
    assert instructions("FROM") == ["python:3.11-slim"]


def test_processes_run_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_every_package_folder_and_the_project_file_are_copied_and_installed() -> None:
    assert package_folders() | {"pyproject.toml", "README.md"} <= copied_paths()
    assert any(re.search(r"pip install (--\S+ )*\.($|\s)", run) for run in instructions("RUN"))


def test_no_secret_is_baked_into_the_image() -> None:
    for keyword in ("ENV", "ARG", "LABEL"):
        for args in instructions(keyword):
            assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL", args, re.IGNORECASE), args
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", ".consulta"} <= set(ignored)


def test_the_default_command_serves_the_web(compose) -> None:
    cmd = instructions("CMD")[-1]
    assert cmd.startswith('["consulta", "serve"')


@pytest.mark.slow
def test_the_installed_package_carries_every_module_template_and_catalogue(tmp_path: Path) -> None:
    """Build the wheel from exactly what the Dockerfile copies, as `pip install .` in the image does."""
    context = tmp_path / "context"
    context.mkdir()
    for path in copied_paths():
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, context / path, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, context / path)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(context)],
        check=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("consulta-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    missing = []
    for package, folder in pyproject["tool"]["setuptools"]["package-dir"].items():
        prefix = package.replace(".", "/")
        for file in (ROOT / folder).rglob("*"):
            relative = file.relative_to(ROOT / folder)
            if not file.is_file() or any(p.startswith(".") or p == "__pycache__" for p in relative.parts):
                continue
            packaged = file.suffix == ".py" or relative.parts[0] in {"templates", "static", "locales"}
            if packaged and f"{prefix}/{relative.as_posix()}" not in names:
                missing.append(f"{prefix}/{relative.as_posix()}")
    assert not missing, missing
