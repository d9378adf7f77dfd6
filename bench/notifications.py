"""Notifications: end-to-end rate, scheduling 100,000 appointments, reminder lateness.

    .venv/bin/python bench/notifications.py [--bookings 400] [--appointments 100000] [--reminders 1000]
        [--rounds 1] [--workers 1] [--threads 8] [--smtp-server auto|postfix|aiosmtpd]

1. End to end, booking event to SMTP server: bookings are recorded first;
   then, as compose.yaml runs them, `consulta worker` (--workers processes of
   --threads threads) and `consulta scheduler` start, and once they run,
   `consulta project --only notifications` starts on the backlog. The rate is
   the e-mails (each booking's confirmation and alert) over the time from the
   projection's first transaction to the last arrival at the SMTP server:
   Postfix's smtp-sink where installed (`apt-get install postfix`, "No
   configuration"), else aiosmtpd (bench/inboxes.py says why it matters).
   Baseline, same run, same Redis: as many messages to a no-op actor, sent
   from this process and handled by the same number of dramatiq worker
   processes and threads (bench/noop_worker.py), first send to last handled.
   Target >= 0.5x.
2. Scheduling reminders for N appointments: N Booked events (made in memory,
   as the store would hand them over) applied by the notifications projection,
   1,000 per transaction like the runner; time and peak Python memory
   (tracemalloc). Baseline: inserting N rows of the same width, 1,000 per
   transaction, pipelined.
3. Reminder lateness: R reminders made due over ten seconds while the worker
   and scheduler run; lateness = SMTP arrival - due time; p50/p99. Target p99 <= 5 s.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import statistics
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import psycopg
import redis
from common import (
    ADMIN_URL,
    add_patient,
    add_practitioners,
    bench_settings,
    fresh_database,
    machine,
    percentile,
    slot_plan,
    utcnow,
)
from fleet import Fleet, cpu_seconds, noop_rate
from inboxes import make_inbox

from consulta.aggregates.appointment import Appointment
from consulta.application import Consulta
from consulta.projections.base import ProjectionRunner
from consulta.projections.notifications import Notifications

REDIS_URL = "redis://127.0.0.1:6379/0"


def wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not finish in time")
        time.sleep(0.01)


def end_to_end(url: str, bookings: int, namespace: str, lateness_too: bool) -> tuple[float, float, Any]:
    settings = bench_settings(url)
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "2"})
    now = utcnow()
    practitioners = add_practitioners(app, 4, now)
    patients = [add_patient(app, now) for _ in range(10)]
    plan = slot_plan(app, practitioners, now, days=30)[:bookings]
    for i, (practitioner_id, starts_at) in enumerate(plan):
        actor, profile_id = patients[i % len(patients)]
        app.book(actor, practitioner_id, "bench", "practice", starts_at, profile_id, now)
    app.close()
    inbox = make_inbox(args.smtp_server)
    processes, threads = args.workers, args.threads
    print(f"SMTP server: {inbox.name}; {processes} worker process(es) of {threads} threads", flush=True)
    expected = bookings * 2  # the patient's confirmation and the practitioner's alert
    baseline = noop_rate(REDIS_URL, namespace + "-noop", expected, processes, threads)
    fleet = Fleet(url, REDIS_URL, namespace, inbox.port)
    try:
        fleet.wait_ready([*fleet.workers(processes, threads), fleet.scheduler()])
        fleet.projection()  # the backlog of bookings starts flowing now
        before = cpu_seconds(fleet, inbox.process.pid)  # the projection's start-up counts against it
        wait_for(lambda: inbox.count() >= expected, timeout=600)
        after = cpu_seconds(fleet, inbox.process.pid)
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT extract(epoch FROM min(created_at)) FROM read.notification_due"
            ).fetchone()
        first_row = float(row[0])  # the projection's first transaction: the first booking event handled
        rate = expected / (max(inbox.arrived.values()) - first_row)
        timeline(url, first_row, sorted(inbox.arrived.values()))
        print(
            f"end to end (booking event -> SMTP): {rate:,.0f} e-mails/s; no-op actor {baseline:,.0f} messages/s;"
            f" ratio {rate / baseline:.2f}x (target >= 0.5x)",
            flush=True,
        )
        spent = {part: (after[part] - before[part]) * 1000 / expected for part in after}
        print(
            "CPU per e-mail: "
            + ", ".join(f"{part} {ms:.2f} ms" for part, ms in spent.items())
            + f"; in all {sum(spent.values()):.2f} ms (PostgreSQL and Redis: whatever else ran too)",
            flush=True,
        )
        lateness = reminder_lateness(url, inbox, args.reminders) if lateness_too else []
    finally:
        fleet.close()
        inbox.stop()
    return rate, baseline, lateness


def timeline(url: str, start: float, arrivals: list[float]) -> None:
    """When each stage got through the backlog, in seconds from the projection's first row."""
    with psycopg.connect(url) as conn:
        projected, claimed, recorded = conn.execute(
            "SELECT extract(epoch FROM max(d.created_at)), extract(epoch FROM max(d.claimed_at)),"
            " extract(epoch FROM max(s.sent_at)) FROM read.notification_due d"
            " LEFT JOIN read.notification_sent s ON s.key = d.key"
        ).fetchone()
    half = arrivals[len(arrivals) // 2]
    print(
        f"timeline (s from the projection's first row): rows projected by {float(projected) - start:.2f},"
        f" claimed by {float(claimed) - start:.2f}; e-mails arrived: first {arrivals[0] - start:.2f},"
        f" half {half - start:.2f}, last {arrivals[-1] - start:.2f} (recorded by {float(recorded) - start:.2f})",
        flush=True,
    )


def reminder_lateness(url: str, inbox: Any, count: int) -> Any:
    """Make `count` reminder rows due over ten seconds from now; measure arrival - due."""
    from consulta.workers.email import message_id_for

    start = datetime.now(UTC) + timedelta(seconds=2)
    with psycopg.connect(url) as conn:
        keys = [
            r[0]
            for r in conn.execute(
                "SELECT key FROM read.notification_due WHERE kind = 'reminder' AND channel = 'email' ORDER BY key LIMIT %s",
                (count,),
            ).fetchall()
        ]
        due = {k: start + timedelta(seconds=10 * i / len(keys)) for i, k in enumerate(keys)}
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE read.notification_due SET due_at = %s WHERE key = %s",
                [(d, k) for k, d in due.items()],
            )
    ids = {message_id_for(k, "Consulta <no-reply@localhost>"): d for k, d in due.items()}
    wait_for(lambda: all(i in inbox.arrived for i in ids), timeout=120)
    return [inbox.arrived[i] - d.timestamp() for i, d in ids.items()]


def scheduling(url: str, appointments: int) -> tuple[float, float, float, float]:
    """Apply `appointments` Booked events to the notifications projection; (seconds, MiB peak, baseline seconds)."""
    settings = bench_settings(url)
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    now = utcnow()
    [practitioner_id] = add_practitioners(app, 1, now)
    runner = ProjectionRunner(app, Notifications(settings.read_schema), url)
    runner.catch_up()
    app.close()
    projection = Notifications(settings.read_schema)
    profiles = [uuid4() for _ in range(appointments // 3)]
    base = now.replace(hour=8, minute=0) + timedelta(days=1)

    def booked(i: int) -> Any:
        starts_at = base + timedelta(days=(i // 30) % 60, minutes=15 * (i % 30))
        return Appointment.Booked(
            originator_id=uuid4(),
            originator_version=1,
            timestamp=now,
            originator_topic="consulta.Appointment",
            practitioner_id=practitioner_id,
            profile_id=profiles[i % len(profiles)],
            motif_id="bench",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=15),
            mode="practice",
            by=uuid4(),
            by_role="patient",
        )

    tracemalloc.start()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for first in range(0, appointments, 1000):
            with conn.transaction(), conn.cursor() as cur, conn.pipeline():
                for i in range(first, min(first + 1000, appointments)):
                    projection.process(booked(i), cur)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE bench_rows (key text PRIMARY KEY, a uuid, b uuid, c uuid, due_at timestamptz, day date)"
        )
        started = time.perf_counter()
        for first in range(0, appointments, 1000):
            with conn.transaction(), conn.cursor() as cur, conn.pipeline():
                for i in range(first, min(first + 1000, appointments)):
                    cur.execute(
                        "INSERT INTO bench_rows VALUES (%s, %s, %s, %s, %s, %s)",
                        (f"row:{i}", uuid4(), uuid4(), uuid4(), now, now.date()),
                    )
        baseline = time.perf_counter() - started
    return seconds, peak, rss, baseline


def main() -> None:
    print(f"bench/notifications.py on {machine()}; PostgreSQL {ADMIN_URL.rsplit('@', 1)[-1]}")
    namespace = f"consulta-bench-{secrets.token_hex(3)}"
    try:
        with fresh_database() as url:
            _rate, _baseline, lateness = end_to_end(url, args.bookings, namespace, lateness_too=True)
        ratios = [_rate / _baseline]
        for round_ in range(1, args.rounds):  # more rounds, each with its own database and baseline
            with fresh_database() as url:
                rate, baseline, _ = end_to_end(
                    url, args.bookings, f"{namespace}-{round_}", lateness_too=False
                )
            ratios.append(rate / baseline)
        print(
            f"end to end over {len(ratios)} round(s): median ratio {statistics.median(ratios):.2f}x"
            f" (range {min(ratios):.2f}-{max(ratios):.2f}; target >= 0.5x)",
            flush=True,
        )
        print(
            f"reminder lateness over {len(lateness)} reminders due within 10 s: p50 {percentile(lateness, 50):.2f} s,"
            f" p99 {percentile(lateness, 99):.2f} s, max {max(lateness):.2f} s (target p99 <= 5 s)"
        )
        with fresh_database() as url:
            seconds, peak, rss, raw = scheduling(url, args.appointments)
        print(
            f"scheduling {args.appointments:,} appointments: {seconds:.1f} s ({args.appointments / seconds:,.0f}/s),"
            f" peak Python allocations {peak:.1f} MiB, process peak RSS {rss:.0f} MiB; raw insert of as many rows {raw:.1f} s; ratio {raw / seconds:.2f}x"
        )
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{namespace}*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=500)
    parser.add_argument(
        "--rounds", type=int, default=1, help="end-to-end rounds (each: fresh database, baseline, pipeline)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="`consulta worker` processes (and no-op workers)"
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument(
        "--smtp-server",
        choices=("auto", "postfix", "aiosmtpd"),
        default="auto",
        help="the SMTP server in the bench: Postfix's smtp-sink where installed (auto), or aiosmtpd",
    )
    args = parser.parse_args()
    main()
