"""Notifications: end-to-end rate, scheduling 100,000 appointments, reminder lateness.

    .venv/bin/python bench/notifications.py [--bookings 400] [--appointments 100000] [--reminders 1000]

1. End to end, booking event to SMTP server: bookings are recorded with the
   notifications projection stopped; then the projection, the scheduler, a
   worker (8 threads, Redis broker) and a local SMTP server (aiosmtpd) start,
   and the clock runs until every confirmation and alert e-mail has arrived.
   Baseline, same run, same broker and worker: as many messages to a no-op
   actor, from the first send to the last one processed. Target >= 0.5x.
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
import threading
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
from inboxes import make_inbox

from consulta.aggregates.appointment import Appointment
from consulta.application import Consulta
from consulta.projections.base import ProjectionRunner
from consulta.projections.notifications import Notifications
from consulta.workers import runtime
from consulta.workers.broker import configure, make_broker
from consulta.workers.process import start_worker, utc_now
from consulta.workers.scheduler import Scheduler

REDIS_URL = "redis://127.0.0.1:6379/0"


def wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not finish in time")
        time.sleep(0.01)


def noop_rate(broker: Any, count: int) -> float:
    import dramatiq

    done = threading.Semaphore(0)

    @dramatiq.actor(queue_name="bench_noop", broker=broker)
    def counted(key: str) -> None:
        done.release()

    worker = dramatiq.Worker(broker, queues={"bench_noop"}, worker_threads=8)
    worker.start()
    try:
        started = time.perf_counter()
        for i in range(count):
            counted.send(str(i))
        for _ in range(count):
            done.acquire()
        return count / (time.perf_counter() - started)
    finally:
        worker.stop()


def end_to_end(url: str, bookings: int, namespace: str) -> tuple[float, float, float]:
    settings = bench_settings(url)
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "2"})
    now = utcnow()
    practitioners = add_practitioners(app, 4, now)
    patients = [add_patient(app, now) for _ in range(10)]
    plan = slot_plan(app, practitioners, now, days=30)[:bookings]
    for i, (practitioner_id, starts_at) in enumerate(plan):
        actor, profile_id = patients[i % len(patients)]
        app.book(actor, practitioner_id, "bench", "practice", starts_at, profile_id, now)
    inbox = make_inbox(args.smtp_server)
    print(f"SMTP server: {inbox.name}", flush=True)
    sender = settings.with_(
        environment="production", smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_starttls=False
    )
    broker = make_broker(REDIS_URL, namespace=namespace)
    baseline = noop_rate(broker, bookings * 2)
    actors = configure(broker)
    worker = start_worker(broker, sender, threads=8)
    stop = threading.Event()
    runner = ProjectionRunner(app, Notifications(settings.read_schema), url)
    scheduler = Scheduler(
        url, settings.read_schema, actors.deliver.send, utc_now, enqueue_many=actors.deliver_many.send
    )
    threads: list[threading.Thread] = []
    try:
        started = time.perf_counter()
        threads = [
            threading.Thread(target=runner.run_forever, args=(stop,), daemon=True),
            threading.Thread(target=scheduler.run, args=(stop, 0.2), daemon=True),
        ]
        for thread in threads:
            thread.start()
        expected = bookings * 2  # the patient's confirmation and the practitioner's alert
        wait_for(lambda: inbox.count() >= expected, timeout=600)
        rate = expected / (time.perf_counter() - started)
        print(
            f"end to end (booking event -> SMTP): {rate:,.0f} e-mails/s; no-op actor {baseline:,.0f} messages/s;"
            f" ratio {rate / baseline:.2f}x (target >= 0.5x)",
            flush=True,
        )
        lateness = reminder_lateness(url, inbox, args.reminders)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        worker.stop()
        runtime.deliverer().pool.close()
        runtime.install(None)
        inbox.stop()
        app.close()
    return rate, baseline, lateness


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
            _rate, _baseline, lateness = end_to_end(url, args.bookings, namespace)
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
        "--smtp-server",
        choices=("auto", "postfix", "aiosmtpd"),
        default="auto",
        help="the SMTP server in the bench: Postfix's smtp-sink where installed (auto), or aiosmtpd",
    )
    args = parser.parse_args()
    main()
