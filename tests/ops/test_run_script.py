"""The README's two commands, `./run` and CI's `.ci/run`, agree with each other and with pyproject.toml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.ops.conftest import ROOT

README = (ROOT / "README.md").read_text()
RUN = (ROOT / "run").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_quick_start_is_two_commands_one_to_try_one_to_test() -> None:
    assert quick_start_commands() == ["./run dev", "./run test"]


def test_ci_runs_the_readme_test_command_with_ci_set() -> None:
    assert CI.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in CI
    assert "export CI=true" in CI
    assert re.search(r"^\./run test\b", CI, re.MULTILINE)
    assert "apt-get install -y" in CI and "chromium" in CI


def test_the_scripts_are_valid_bash_and_executable() -> None:
    for script in (ROOT / "run", ROOT / ".ci" / "run"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert os.access(ROOT / "run", os.X_OK)


def test_run_reinstalls_when_any_mapped_folder_changes() -> None:
    """The install fingerprint must cover every folder pyproject.toml maps into the package."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapped = {folder.split("/")[0] for folder in pyproject["tool"]["setuptools"]["package-dir"].values()}
    (listed,) = re.findall(r"for folder in \(([^)]*)\)", RUN)
    assert mapped == set(re.findall(r'"([^"]+)"', listed))
    assert '-e ".[test]" --config-settings editable_mode=strict' in RUN


def find_python(path: Path) -> subprocess.CompletedProcess[str]:
    """Run the script's own find_python function with only `path` on PATH."""
    function = re.search(r"^find_python\(\) \{.*?^\}", RUN, re.MULTILINE | re.DOTALL)
    assert function
    return subprocess.run(
        ["/bin/bash", "-c", f"{function[0]}\nfind_python"],
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_run_takes_the_newest_python_that_is_at_least_311(tmp_path: Path) -> None:
    too_old = tmp_path / "python3.13"  # answers the version check with "no"
    too_old.write_text("#!/bin/sh\nexit 1\n")
    too_old.chmod(0o755)
    (tmp_path / "python3.11").symlink_to(sys.executable)
    (tmp_path / "python3").symlink_to(sys.executable)
    assert find_python(tmp_path).stdout.strip() == str(tmp_path / "python3.11")


def test_run_says_what_it_needs_without_python_311(tmp_path: Path) -> None:
    result = find_python(tmp_path)
    assert result.returncode == 1
    assert "Python 3.11 or newer" in result.stderr


def test_run_help_lists_its_commands() -> None:
    result = subprocess.run([str(ROOT / "run"), "help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert all(f"./run {name}" in result.stdout for name in ("dev", "test", "lint", "consulta"))
    unknown = subprocess.run([str(ROOT / "run"), "fly"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2
