"""Projection lag: from `book()` returning to the read models holding the booking.

The projections run in a real `consulta project` process. Booking clients
(processes) book at a steady rate (default 100 bookings/s in all) and note
when each `book()` returned and its log position; this process listens to the
runners' notifications (channel `consulta_read`, sent when a batch commits)
and notes when every booking read model (agenda, patient_appointments) has
reached each position. Baseline, same run: a bare PostgreSQL NOTIFY from one
connection to a listener (commit to listener), the floor of any such lag.

    .venv/bin/python bench/projection_lag.py [--rate 100] [--seconds 10] [--clients 2]
"""

from __future__ import annotations

import argparse
import bisect
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg
from common import (
    MOTIF,
    ROOT,
    add_patient,
    add_practitioners,
    bench_settings,
    fresh_database,
    machine,
    percentile,
    slot_plan,
    utcnow,
)

from consulta.projections import PROJECTIONS
from consulta.projections.base import READ_CHANNEL
from consulta.services import BOOKING_VIEWS


class Listener:
    """Notes (monotonic time, payload) of every notification on a channel."""

    def __init__(self, url: str, channel: str) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, channel), daemon=True)
        self._thread.start()
        self.ready.wait(10)

    def _run(self, url: str, channel: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"LISTEN {channel}")
            self.ready.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.2):
                    self.arrivals.append((time.monotonic(), note.payload))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def notify_baseline(url: str, count: int = 300) -> list[float]:
    listener = Listener(url, "bench_ping")
    sent: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(count):
            sent[str(i)] = time.monotonic()
            conn.execute("SELECT pg_notify('bench_ping', %s)", (str(i),))
            time.sleep(0.01)
    time.sleep(0.3)
    listener.stop()
    return [t - sent[p] for t, p in listener.arrivals if p in sent]


def client(
    url: str,
    env: dict[str, str],
    plan: list[Any],
    patient: Any,
    rate: float,
    seconds: float,
    start: float,
    results: Any,
) -> None:
    from consulta.application import Consulta

    app = Consulta(env=env)
    actor, profile_id = patient
    now = utcnow()
    done: list[tuple[float, int]] = []
    slots = iter(plan)
    i = 0
    while True:
        due = start + i / rate
        if due >= start + seconds:
            break
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        practitioner_id, starts_at = next(slots)
        outcome = app.book(actor, practitioner_id, MOTIF, "practice", starts_at, profile_id, now)
        done.append((time.monotonic(), outcome.position))
        i += 1
    app.close()
    results.put(done)


def reached_times(arrivals: list[tuple[float, str]], names: tuple[str, ...]) -> tuple[list[float], list[int]]:
    """When the slowest of `names` moved: (times, positions), both non-decreasing."""
    positions = dict.fromkeys(names, 0)
    times, floors = [], []
    for t, payload in sorted(arrivals):
        name, _, position = payload.rpartition(":")
        if name in positions:
            positions[name] = max(positions[name], int(position))
            times.append(t)
            floors.append(min(positions.values()))
    return times, floors


def lags(bookings: list[tuple[float, int]], times: list[float], floors: list[int]) -> tuple[list[float], int]:
    found, missing = [], 0
    for returned, position in bookings:
        i = bisect.bisect_left(floors, position)
        if i == len(floors):
            missing += 1
        else:
            found.append(max(0.0, times[i] - returned))
    return found, missing


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="bookings per second, all clients together")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database() as url:
        from consulta.application import Consulta

        settings = bench_settings(url, pool_size=2)
        env = settings.eventsourcing_env()
        setup = Consulta(env=env)
        now = utcnow()
        practitioners = add_practitioners(setup, 8, now)
        patients = [add_patient(setup, now) for _ in range(args.clients)]
        plans = [slot_plan(setup, practitioners[i :: args.clients], now) for i in range(args.clients)]
        last = setup.recorder.max_notification_id() or 0
        setup.close()
        baseline = notify_baseline(url)
        listener = Listener(url, READ_CHANNEL)
        process_env = {
            **os.environ,
            "DATABASE_URL": url,
            "CONSULTA_ENV": "test",
            "CONSULTA_SECRET_KEY": "bench",
        }
        projector = subprocess.Popen([str(ROOT / ".venv/bin/consulta"), "project"], env=process_env)
        try:
            floors: list[int] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (floors and floors[-1] >= last):
                time.sleep(0.2)
                _, floors = reached_times(list(listener.arrivals), tuple(PROJECTIONS))
            ctx = mp.get_context("spawn")
            results = ctx.Queue()
            start = time.monotonic() + 3.0  # time for the clients to start
            procs = [
                ctx.Process(
                    target=client,
                    args=(
                        url,
                        env,
                        plans[i],
                        patients[i],
                        args.rate / args.clients,
                        args.seconds,
                        start,
                        results,
                    ),
                )
                for i in range(args.clients)
            ]
            for proc in procs:
                proc.start()
            bookings = [b for _ in procs for b in results.get(timeout=args.seconds + 120)]
            for proc in procs:
                proc.join()
            time.sleep(1.0)
        finally:
            projector.terminate()
            projector.wait(20)
            listener.stop()
    achieved = len(bookings) / args.seconds
    print(
        f"bookings: {len(bookings)} in {args.seconds:.0f} s = {achieved:.0f}/s with {args.clients} client(s)"
    )
    b50, b99 = percentile(baseline, 50) * 1000, percentile(baseline, 99) * 1000
    print(f"baseline, bare NOTIFY commit-to-listener: p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    for label, names in (("booking read models", BOOKING_VIEWS), ("every read model", tuple(PROJECTIONS))):
        found, missing = lags(bookings, *reached_times(listener.arrivals, names))
        p50, p99 = percentile(found, 50) * 1000, percentile(found, 99) * 1000
        print(
            f"projection lag, {label} ({', '.join(names)}): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(found) * 1000:.1f} ms, never reached: {missing}; "
            f"ratio to bare NOTIFY p50 {p50 / b50:.1f}x, p99 {p99 / b99:.1f}x; target p99 <= 250 ms: "
            f"{'met' if p99 <= 250 and not missing else 'MISSED'}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
