"""Run every benchmark one after the other and keep their output.

    .venv/bin/python bench/run_all.py [--quick]

Each benchmark makes (and drops) its own database on the local PostgreSQL
and prints ratios to a baseline measured in the same run. `--quick` shortens
every run (fewer repeats) for a smoke test; figures for docs/performance.md
come from the full runs. The whole set takes about five minutes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    ("booking.py", ["--windows", "3", "--seconds", "1"]),
    ("http_booking.py", ["--repeats", "1", "--seconds", "3"]),
    ("projection_lag.py", ["--seconds", "5"]),
    ("rebuild.py", ["--repeats", "1"]),
    ("pages.py", ["--repeats", "1", "--seconds", "2"]),
    ("notifications.py", ["--bookings", "100", "--appointments", "10000", "--reminders", "50"]),
    ("mime.py", ["--messages", "200", "--repeats", "3"]),
    ("media.py", ["--consultations", "1", "--seconds", "5", "--warmup", "3"]),
]


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for script, quick_args in BENCHMARKS:
        command = [sys.executable, str(HERE / script), *(quick_args if quick else [])]
        print(f"\n=== {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(script)
        print(f"=== {script} took {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
