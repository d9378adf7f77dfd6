"""Daily agenda summary: what it costs the notifications projection, and composing one at send time.

    .venv/bin/python bench/daily_summary.py [--appointments 30000] [--practitioners 50] [--repeats 3]

1. Projection: N Booked events (made in memory, 1,000 per transaction,
   pipelined, like the runner) spread over P practitioners and 60 days, in
   three fresh databases: without the summary's statement (the projection as
   before this feature: `daily_summary.write_day` replaced by a no-op), with
   it and nobody opted in, with it and every practitioner opted in. Events/s,
   best of `--repeats`.
2. Composing one summary at send time (`workers/summary.compose_summary`: the
   opt-in, the day's appointments, the rendering) for a day of 36
   appointments, in the worker's transaction; median and p99 over 500 calls.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import psycopg
from common import add_practitioners, bench_settings, fresh_database, machine, percentile, utcnow
from psycopg import sql
from psycopg.rows import dict_row

from consulta.aggregates.appointment import Appointment
from consulta.aggregates.notification_settings import NotificationPolicy
from consulta.application import Consulta
from consulta.projections import daily_summary
from consulta.projections.base import ProjectionRunner
from consulta.projections.notifications import Notifications
from consulta.workers.summary import compose_summary


def setup(url: str, practitioners: int) -> list[Any]:
    settings = bench_settings(url)
    app = Consulta(env={**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "1"})
    ids = add_practitioners(app, practitioners, utcnow())
    ProjectionRunner(app, Notifications(settings.read_schema), url).catch_up()
    app.close()
    return ids


def apply(url: str, events: list[Any]) -> float:
    projection = Notifications(bench_settings(url).read_schema)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        for first in range(0, len(events), 1000):
            with conn.transaction(), conn.cursor() as cur, conn.pipeline():
                for event in events[first : first + 1000]:
                    projection.process(event, cur)
    return time.perf_counter() - started


def bookings(ids: list[Any], count: int, one_day: bool = False) -> list[Any]:
    """`count` bookings spread over the practitioners and 60 days (or all on one day: 15 minutes apart)."""
    now = utcnow()
    base = now.replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
    events = []
    for i in range(count):
        if one_day:
            starts_at = base + timedelta(minutes=15 * i)
        else:
            starts_at = base + timedelta(
                days=(i // len(ids)) % 60, minutes=15 * ((i // (60 * len(ids))) % 36)
            )
        events.append(
            Appointment.Booked(
                originator_id=uuid4(),
                originator_version=1,
                timestamp=now,
                originator_topic="consulta.Appointment",
                practitioner_id=ids[i % len(ids)],
                profile_id=uuid4(),
                motif_id="bench",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=15),
                mode="practice",
                by=uuid4(),
                by_role="practitioner",
            )
        )
    return events


def opt_ins(ids: list[Any]) -> list[Any]:
    return [
        NotificationPolicy.DailySummaryChosen(
            originator_id=NotificationPolicy.id_for(p),
            originator_version=2,
            timestamp=utcnow(),
            practitioner_id=p,
            enabled=True,
            hour=7,
        )
        for p in ids
    ]


def projection_rate(appointments: int, practitioners: int, variant: str) -> float:
    original: Callable[..., None] = daily_summary.write_day
    if variant == "without":
        daily_summary.write_day = lambda *args: None  # type: ignore[assignment]
    try:
        with fresh_database() as url:
            ids = setup(url, practitioners)
            if variant == "opted in":
                apply(url, opt_ins(ids))
            return appointments / apply(url, bookings(ids, appointments))
    finally:
        daily_summary.write_day = original  # type: ignore[assignment]


def compose_times(calls: int) -> list[float]:
    with fresh_database() as url:
        [practitioner] = setup(url, 1)
        schema = bench_settings(url).read_schema
        apply(url, opt_ins([practitioner]))
        events = bookings([practitioner], 36, one_day=True)
        apply(url, events)
        day = events[0].starts_at.date()

        def q(statement: str) -> sql.Composed:
            return sql.SQL(statement).format(s=sql.Identifier(schema))

        due = {"practitioner_id": practitioner, "day": day}
        times = []
        with psycopg.connect(url) as conn, conn.cursor(row_factory=dict_row) as cur:
            reason, message = compose_summary(cur, q, due, events[0].starts_at, "https://bench.example")
            assert message is not None and len(message[4]) == 36, reason
            for _ in range(calls):
                started = time.perf_counter()
                compose_summary(cur, q, due, events[0].starts_at, "https://bench.example")
                times.append(time.perf_counter() - started)
        return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=30_000)
    parser.add_argument("--practitioners", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"bench/daily_summary.py on {machine()}")
    print(f"1. projection, {args.appointments} Booked events over {args.practitioners} practitioners:")
    for variant in ("without", "nobody opted in", "opted in"):
        best = max(
            projection_rate(args.appointments, args.practitioners, variant) for _ in range(args.repeats)
        )
        print(f"   {variant:>16}: {best:8.0f} events/s")
    times = compose_times(500)
    print(
        f"2. composing a 36-appointment summary: median {statistics.median(times) * 1000:.2f} ms,"
        f" p99 {percentile(times, 99) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
