"""Booking command (load rules, decide, save) against raw single-row insert transactions.

Each client is a process (no shared GIL). Baselines, on a table of the events
table's shape, one row per transaction with psycopg:
- a lone INSERT in autocommit (one round trip: the floor);
- BEGIN; INSERT; COMMIT (`with conn.transaction()`, three round trips).
The booking clients call `Consulta.book` with the settings Consulta ships
(`Settings.eventsourcing_env()`), or a variant (--variant) to compare levers.
Every pool of clients stays up for the whole run; short windows of each pool
alternate (raw, raw in a block, booking, raw, ...), so a change in the load
other users put on the machine hits all of them alike. Each window's ratio
to the raw windows around it is kept; the medians are reported.

    .venv/bin/python bench/booking.py [--windows 8] [--seconds 1.5] [--clients 1,8] [--variant shipped]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import time
import uuid
from typing import Any

from common import (
    add_patient,
    add_practitioners,
    bench_settings,
    fresh_database,
    machine,
    median,
    percentile,
    slot_plan,
    spread,
    utcnow,
)

RAW_TABLE = (
    "CREATE TABLE IF NOT EXISTS public.raw_events (originator_id uuid NOT NULL,"
    " originator_version bigint NOT NULL, topic text, state bytea, notification_id bigserial,"
    " PRIMARY KEY (originator_id, originator_version));"
    " CREATE UNIQUE INDEX IF NOT EXISTS raw_events_nid ON public.raw_events (notification_id)"
)
STATE = os.urandom(160).hex().encode()  # about the size of an Appointment.Booked event's state

# Settings compared with --variant: "" removes a key, so the library's default applies.
VARIANTS: dict[str, dict[str, str]] = {
    "shipped": {},
    "library-recorder": {"APPLICATION_RECORDER_TOPIC": ""},  # the library's write path, two round trips
    "library-loads": {},  # the library's repository, with its per-event Protocol check
    "library": {"APPLICATION_RECORDER_TOPIC": ""},  # both
    "cache": {"AGGREGATE_CACHE_MAXSIZE": "1000"},  # the library's aggregate cache, fast-forwarded
}


def raw_worker(url: str, block: bool, commands: Any, results: Any) -> None:
    """One row per transaction: a lone INSERT (one round trip), or BEGIN; INSERT; COMMIT (`block`)."""
    import psycopg

    statement = (
        "INSERT INTO public.raw_events (originator_id, originator_version, topic, state)"
        " VALUES (%s, %s, %s, %s) RETURNING notification_id"
    )
    with psycopg.connect(url, autocommit=True) as conn:

        def once() -> bool:
            if block:
                with conn.transaction():
                    conn.execute(
                        statement, (uuid.uuid4(), 1, "consulta.Appointment.Booked", STATE)
                    ).fetchone()
            else:
                conn.execute(statement, (uuid.uuid4(), 1, "consulta.Appointment.Booked", STATE)).fetchone()
            return True

        serve(once, commands, results)


def book_worker(
    url: str, variant: str, env: dict[str, str], plan: list[Any], patient: Any, commands: Any, results: Any
) -> None:
    from common import MOTIF
    from eventsourcing.application import Application

    from consulta.aggregates.errors import SlotTakenError
    from consulta.application import Consulta

    class LibraryLoads(Consulta):
        name = "consulta"

        def construct_repository(self) -> Any:
            return Application.construct_repository(self)

    app = (LibraryLoads if variant in ("library-loads", "library") else Consulta)(env=env)
    actor, profile_id = patient
    now = utcnow()
    slots = iter(plan)

    def once() -> bool:
        practitioner_id, starts_at = next(slots)
        try:
            app.book(actor, practitioner_id, MOTIF, "practice", starts_at, profile_id, now)
        except SlotTakenError:
            return False
        return True

    serve(once, commands, results)
    app.close()


def serve(once: Any, commands: Any, results: Any) -> None:
    """Warm up, then run a window per command (start, seconds) until told None."""
    for _ in range(5):
        once()
    results.put("ready")
    while (command := commands.get()) is not None:
        start, seconds = command
        while time.monotonic() < start:
            time.sleep(0.001)
        end = start + seconds
        count, failed, latencies = 0, 0, []
        while (t := time.monotonic()) < end:
            if once():
                latencies.append(time.monotonic() - t)
                count += 1
            else:
                failed += 1
        results.put({"count": count, "conflicts": failed, "latencies": latencies})


class Pool:
    """`clients` processes of one kind, kept up for the whole run."""

    def __init__(self, clients: int, target: Any, args_for: Any) -> None:
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(clients)]
        self.procs = [
            ctx.Process(target=target, args=(*args_for(i), self.commands[i], self.results))
            for i in range(clients)
        ]
        for proc in self.procs:
            proc.start()
        ready, deadline = 0, time.monotonic() + 180
        while ready < len(self.procs):
            try:
                assert self.results.get(timeout=1) == "ready"
                ready += 1
            except queue.Empty:
                if time.monotonic() > deadline or not all(p.is_alive() for p in self.procs):
                    self.close()
                    raise RuntimeError("a client process did not start") from None

    def window(self, seconds: float) -> dict[str, Any]:
        start = time.monotonic() + 0.05
        for commands in self.commands:
            commands.put((start, seconds))
        outs = [self.results.get(timeout=seconds + 120) for _ in self.procs]
        latencies = [x for out in outs for x in out["latencies"]]
        return {
            "rate": sum(out["count"] for out in outs) / seconds,
            "conflicts": sum(out["conflicts"] for out in outs),
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
        }

    def close(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for proc in self.procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=1.5, help="length of one window")
    parser.add_argument("--windows", type=int, default=8, help="windows of each kind, alternating")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--variant", default="shipped", help=", ".join(VARIANTS) + " (comma-separated)")
    args = parser.parse_args()
    variants = args.variant.split(",")
    print(f"machine: {machine()}")
    summary: list[str] = []
    with fresh_database() as url:
        import psycopg

        from consulta.application import Consulta

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(RAW_TABLE)
        # One connection per client process: each books one request at a time.
        base_env = {**bench_settings(url, pool_size=1).eventsourcing_env(), "POSTGRES_MAX_OVERFLOW": "0"}
        setup = Consulta(env=base_env)
        now = utcnow()
        for clients in [int(c) for c in args.clients.split(",")]:
            patients = [add_patient(setup, now) for _ in range(clients)]
            pools = {
                "lone INSERT": Pool(clients, raw_worker, lambda i: (url, False)),
                "BEGIN/INSERT/COMMIT": Pool(clients, raw_worker, lambda i: (url, True)),
            }
            for variant in variants:
                practitioners = add_practitioners(setup, 8, now)
                plans = [slot_plan(setup, practitioners[i::clients], now, days=100) for i in range(clients)]
                env = {**base_env, **VARIANTS[variant]}
                pools[variant] = Pool(
                    clients,
                    book_worker,
                    lambda i, v=variant, e=env, p=plans, c=patients: (url, v, e, p[i], c[i]),
                )
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in pools}
            for _ in range(args.windows):
                for name, pool in pools.items():
                    runs[name].append(pool.window(args.seconds))
            for pool in pools.values():
                pool.close()
            print(f"\n{clients} client(s), {args.windows} windows of {args.seconds} s each:")
            for name, found in runs.items():
                rates = [r["rate"] for r in found]
                print(
                    f"  {name}: {median(rates):.0f}/s (windows {min(rates):.0f}-{max(rates):.0f}), "
                    f"p50 {median([r['p50_ms'] for r in found]):.2f} ms, "
                    f"p99 {median([r['p99_ms'] for r in found]):.2f} ms, "
                    f"conflicts {sum(r['conflicts'] for r in found)}"
                )
            for variant in variants:
                for baseline in ("lone INSERT", "BEGIN/INSERT/COMMIT"):
                    ratios = [
                        b["rate"] / r["rate"] for b, r in zip(runs[variant], runs[baseline], strict=True)
                    ]
                    verdict = ""
                    if clients == 1:
                        verdict = "; target >= 0.25x: " + ("met" if median(ratios) >= 0.25 else "MISSED")
                    summary.append(
                        f"booking ({variant}) / raw {baseline}, {clients} client(s): "
                        f"{spread(ratios)}{verdict}"
                    )
        setup.close()
    print()
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
