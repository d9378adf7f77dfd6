"""Rebuild speed: `consulta.database.rebuild` over a log of at least 100,000 events.

The log is filled fast by saving real AgendaDay and Appointment aggregates
(`--per-save` bookings per save, one day per save) rather than one command
per booking; the events are the ones `book()` records. Baselines, same run:
- reading the same notifications in batches of 1,000 (no decoding, no writes);
- reading and decoding them into domain events (no writes);
- the same projection applied one event per transaction (what the library's
  stock ProjectionRunner does), on the first `--sample` events.

    .venv/bin/python bench/rebuild.py [--events 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import psycopg
from common import (
    MOTIF,
    ZONE,
    add_patient,
    add_practitioners,
    bench_settings,
    fresh_database,
    machine,
    median,
    spread,
    utcnow,
)

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment
from consulta.application import Consulta
from consulta.database import rebuild
from consulta.projections import PROJECTIONS
from consulta.projections.base import ProjectionRunner


def fill(app: Consulta, target: int, per_save: int) -> int:
    """Book `per_save` ten-minute slots per practitioner-day until the log holds `target` events."""
    now = utcnow()
    actor, profile_id = add_patient(app, now)
    zone = ZoneInfo(ZONE)
    first = (now.astimezone(zone) + timedelta(days=2)).date()
    practitioners = add_practitioners(app, 2 + target // (300 * per_save * 2), now)
    appointments = 0
    d = 0
    while (app.recorder.max_notification_id() or 0) < target:
        day_date = first + timedelta(days=d % 300)
        practitioner_id = practitioners[d // 300]
        d += 1
        day = AgendaDay(practitioner_id=practitioner_id, day=day_date)
        booked = []
        for k in range(per_save):
            start = (datetime_at(day_date, zone) + timedelta(minutes=10 * k)).astimezone(now.tzinfo)
            end = start + timedelta(minutes=10)
            new_id = uuid4()
            day.place(new_id, start, end, "practice", now, None)
            booked.append(
                Appointment(
                    id=new_id,
                    practitioner_id=practitioner_id,
                    profile_id=profile_id,
                    motif_id=MOTIF,
                    starts_at=start,
                    ends_at=end,
                    mode="practice",
                    by=actor.account_id,
                    by_role=actor.role,
                )
            )
        app.save(day, *booked)
        appointments += len(booked)
    return appointments


def datetime_at(day, zone):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 6, 0, tzinfo=zone)


def read_rate(app: Consulta, decode: bool) -> float:
    position, count = 0, 0
    started = time.perf_counter()
    while found := app.recorder.select_notifications(position, 1000, inclusive_of_start=False):
        if decode:
            for notification in found:
                app.mapper.to_domain_event(notification)
        position = found[-1].id
        count += len(found)
    return count / (time.perf_counter() - started)


def one_per_transaction_rate(app: Consulta, url: str, schema: str, name: str, sample: int) -> float:
    runner = ProjectionRunner(app, PROJECTIONS[name](schema), url, batch=1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.projection_positions SET position = 0 WHERE name = %s", (name,))
    started = time.perf_counter()
    done = 0
    while done < sample and runner.run_once():
        done += 1
    rate = done / (time.perf_counter() - started)
    runner.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-save", type=int, default=40)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--only", default="agenda,patient_appointments")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database() as url:
        settings = bench_settings(url, pool_size=2)
        app = Consulta(env=settings.eventsourcing_env())
        started = time.perf_counter()
        appointments = fill(app, args.events, args.per_save)
        events = app.recorder.max_notification_id() or 0
        print(
            f"log: {events} events ({appointments} bookings) written in {time.perf_counter() - started:.1f} s"
        )
        names = args.only.split(",")
        stock = {n: one_per_transaction_rate(app, url, settings.read_schema, n, args.sample) for n in names}
        results: dict[str, list[float]] = {}
        for repeat in range(args.repeats):
            raw = read_rate(app, decode=False)
            decoded = read_rate(app, decode=True)
            results.setdefault("raw read", []).append(raw)
            results.setdefault("read+decode", []).append(decoded)
            line = f"[{repeat + 1}] raw read {raw:,.0f} events/s, read+decode {decoded:,.0f} events/s"
            for name in names:
                started = time.perf_counter()
                total = rebuild(settings, name)
                rate = total / (time.perf_counter() - started)
                results.setdefault(name, []).append(rate)
                results.setdefault(f"{name}/raw", []).append(rate / raw)
                line += f"; rebuild {name} {rate:,.0f} events/s ({rate / raw:.3f}x raw read)"
            print(line)
        with psycopg.connect(url) as conn:
            rows = conn.execute(f"SELECT count(*) FROM {settings.read_schema}.agenda_appointments").fetchone()
        app.close()
    assert rows is not None and rows[0] == appointments, (
        f"rebuilt agenda holds {rows} rows, expected {appointments}"
    )
    print(f"\nrebuilt agenda holds every booking: {rows[0]} rows")
    for key, values in results.items():
        if key.endswith("/raw"):
            print(f"rebuild/raw-read ratio, {key[:-4]}: {spread(values)}")
        else:
            print(
                f"{key} events/s: median {median(values):,.0f} (min {min(values):,.0f}, max {max(values):,.0f})"
            )
    for name, rate in stock.items():
        print(
            f"one event per transaction ({name}, first {args.sample} events): {rate:,.0f} events/s; "
            f"batched rebuild is {median(results[name]) / rate:.1f}x that"
        )
    for name in names:
        verdict = "met" if median(results[name]) >= 20_000 else "MISSED"
        print(f"target rebuild >= 20,000 events/s, {name}: {verdict}")


if __name__ == "__main__":
    main()
