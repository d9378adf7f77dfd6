"""Booking command (load rules, decide, save) against raw single-row insert transactions.

Each client is a process (no shared GIL). The baseline clients insert one row
per transaction, with psycopg, into a table of the events table's shape; the
booking clients call `Consulta.book` with the settings Consulta ships
(`Settings.eventsourcing_env()`), or a variant given with --variant.
Raw and booking runs alternate, and each repeat gives a ratio.

    .venv/bin/python bench/booking.py [--seconds 4] [--repeats 3] [--clients 1,8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
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
    "stock": {"APPLICATION_RECORDER_TOPIC": "", "AGGREGATE_CACHE_MAXSIZE": ""},
    "stock+cache": {"APPLICATION_RECORDER_TOPIC": "", "AGGREGATE_CACHE_MAXSIZE": "1000"},
    "recorder-only": {"AGGREGATE_CACHE_MAXSIZE": ""},
}


def raw_client(url: str, block: bool, seconds: float, go: Any, start: Any, results: Any, ready: Any) -> None:
    """One row per transaction: a lone INSERT (one round trip), or BEGIN; INSERT; COMMIT (`block`)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        statement = (
            "INSERT INTO public.raw_events (originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s) RETURNING notification_id"
        )
        topic = "consulta.Appointment.Booked"

        def once() -> None:
            if block:
                with conn.transaction():
                    conn.execute(statement, (uuid.uuid4(), 1, topic, STATE)).fetchone()
            else:
                conn.execute(statement, (uuid.uuid4(), 1, topic, STATE)).fetchone()

        for _ in range(10):
            once()
        ready.put(1)
        go.wait()
        count, latencies = 0, []
        end = start.value + seconds
        while (t := time.monotonic()) < end:
            once()
            latencies.append(time.monotonic() - t)
            count += 1
    results.put({"count": count, "conflicts": 0, "latencies": latencies})


def book_client(
    url: str, env: dict[str, str], plan: list[Any], actor: Any, profile_id: Any,
    seconds: float, go: Any, start: Any, results: Any, ready: Any,
) -> None:
    from common import MOTIF

    from consulta.aggregates.errors import SlotTakenError
    from consulta.application import Consulta

    app = Consulta(env=env)
    now = utcnow()
    slots = iter(plan)

    def once() -> bool:
        practitioner_id, starts_at = next(slots)
        try:
            app.book(actor, practitioner_id, MOTIF, "practice", starts_at, profile_id, now)
        except SlotTakenError:
            return False
        return True

    for _ in range(5):
        once()
    ready.put(1)
    go.wait()
    count, conflicts, latencies = 0, 0, []
    end = start.value + seconds
    while (t := time.monotonic()) < end:
        if once():
            latencies.append(time.monotonic() - t)
            count += 1
        else:
            conflicts += 1
    app.close()
    results.put({"count": count, "conflicts": conflicts, "latencies": latencies})


def measure(kind: str, clients: int, url: str, seconds: float, env: dict[str, str], plans: list[Any],
            patients: list[Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    go, ready, results = ctx.Event(), ctx.Queue(), ctx.Queue()
    start = ctx.Value("d", 0.0)
    procs = []
    for i in range(clients):
        if kind in ("raw", "raw_tx"):
            args: tuple[Any, ...] = (url, kind == "raw_tx", seconds, go, start, results, ready)
            target: Any = raw_client
        else:
            actor, profile_id = patients[i]
            args = (url, env, plans[i], actor, profile_id, seconds, go, start, results, ready)
            target = book_client
        proc = ctx.Process(target=target, args=args)
        proc.start()
        procs.append(proc)
    for _ in procs:
        ready.get(timeout=120)
    start.value = time.monotonic() + 0.2
    go.set()
    outs = [results.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join()
    latencies = [x for out in outs for x in out["latencies"]]
    count = sum(out["count"] for out in outs)
    return {
        "rate": count / seconds,
        "conflicts": sum(out["conflicts"] for out in outs),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--variant", default="shipped", help=", ".join(VARIANTS) + " (comma-separated)")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]
    variants = args.variant.split(",")
    print(f"machine: {machine()}")
    ratios: dict[tuple[str, int, str], list[float]] = {}
    with fresh_database() as url:
        import psycopg

        from consulta.application import Consulta

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(RAW_TABLE)
        settings = bench_settings(url, pool_size=2)
        base_env = settings.eventsourcing_env()
        setup = Consulta(env=base_env)
        now = utcnow()
        most = max(client_counts)
        patients = [add_patient(setup, now) for _ in range(most)]
        for repeat in range(args.repeats):
            for clients in client_counts:
                raw = measure("raw", clients, url, args.seconds, {}, [], [])
                print(f"[{repeat + 1}] raw INSERT, {clients} client(s): {raw['rate']:.0f}/s, "
                      f"p50 {raw['p50_ms']:.2f} ms, p99 {raw['p99_ms']:.2f} ms")
                raw_tx = measure("raw_tx", clients, url, args.seconds, {}, [], [])
                print(f"[{repeat + 1}] raw BEGIN/INSERT/COMMIT, {clients} client(s): {raw_tx['rate']:.0f}/s, "
                      f"p50 {raw_tx['p50_ms']:.2f} ms, p99 {raw_tx['p99_ms']:.2f} ms")
                for variant in variants:
                    env = {**base_env, **VARIANTS[variant]}
                    practitioners = add_practitioners(setup, 8, now)
                    plans = [
                        slot_plan(setup, practitioners[i::clients], now) for i in range(clients)
                    ]
                    book = measure("book", clients, url, args.seconds, env, plans, patients)
                    ratio, ratio_tx = book["rate"] / raw["rate"], book["rate"] / raw_tx["rate"]
                    ratios.setdefault((variant, clients, "lone INSERT"), []).append(ratio)
                    ratios.setdefault((variant, clients, "BEGIN/INSERT/COMMIT"), []).append(ratio_tx)
                    print(f"[{repeat + 1}] book ({variant}), {clients} client(s): {book['rate']:.0f}/s, "
                          f"p50 {book['p50_ms']:.2f} ms, p99 {book['p99_ms']:.2f} ms, "
                          f"conflicts {book['conflicts']}, ratio to lone INSERT {ratio:.3f}, "
                          f"to BEGIN/INSERT/COMMIT {ratio_tx:.3f}")
        setup.close()
    print()
    for (variant, clients, baseline), values in sorted(ratios.items()):
        target = "; target >= 0.25x: " + ("met" if median(values) >= 0.25 else "MISSED") if clients == 1 else ""
        print(f"booking/raw ratio, {variant}, {clients} client(s), against {baseline}: {spread(values)}{target}")


if __name__ == "__main__":
    main()
