"""Shared pieces of the benchmarks: a fresh database per run, demo data, statistics.

Every benchmark creates its own database on the local PostgreSQL (ADMIN_URL,
default postgresql://postgres@127.0.0.1:5432/postgres), migrates it, and drops
it when done. Figures are printed as ratios to a baseline measured in the same
run, because the machine is shared and absolute times drift.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from consulta.application import Actor, Consulta  # noqa: E402
from consulta.database import migrate  # noqa: E402
from consulta.settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ZONE = "Europe/Paris"
MOTIF = "bench"
# A general practitioner's week: 08:00-12:00 and 14:00-19:00 on weekdays, Saturday
# morning, fifteen-minute visits (36 slots a weekday).
HOURS = [
    {"weekday": d, "start": start, "end": end, "place": "practice"}
    for d in range(5)
    for start, end in (("08:00", "12:00"), ("14:00", "19:00"))
] + [{"weekday": 5, "start": "09:00", "end": "12:00", "place": "practice"}]
MOTIFS = [{"id": MOTIF, "name": "Consultation", "duration_minutes": 15, "modes": ["practice", "video"]}]
POLICY = {"min_notice_minutes": 0, "horizon_days": 120}


def bench_settings(url: str, **changes: Any) -> Settings:
    return Settings(database_url=url, environment="test", secret_key="bench-secret", **changes)


@contextmanager
def fresh_database(prefix: str = "consulta_bench") -> Iterator[str]:
    """A new, migrated database; dropped afterwards whatever happens."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = conninfo_to_dict(ADMIN_URL)
    info["dbname"] = name
    url = make_conninfo(**info)  # type: ignore[arg-type]
    try:
        migrate(bench_settings(url))
        yield url
    finally:
        for attempt in range(30):  # the server may be full of other users' connections for a while
            try:
                with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                    )
                break
            except psycopg.OperationalError:
                if attempt == 29:
                    raise
                time.sleep(2)


def add_practitioners(app: Consulta, count: int, now: datetime) -> list[UUID]:
    """Practitioners open every day, with one ten-minute motif, no notice."""
    ids = []
    for i in range(count):
        outcome = app.add_practitioner(
            f"bench-dr-{secrets.token_hex(4)}@example.org",
            "correct horse battery",
            f"Dr Bench {i}",
            "General practitioner",
            "Lyon",
            now,
            timezone=ZONE,
        )
        practitioner = app.get_practitioner(outcome.id)
        actor = Actor(practitioner.account_id, "practitioner", outcome.id)
        app.configure_agenda(actor, outcome.id, hours=HOURS, motifs=MOTIFS, policy=POLICY)
        ids.append(outcome.id)
    return ids


def add_patient(app: Consulta, now: datetime) -> tuple[Actor, UUID]:
    outcome = app.register_patient(
        f"bench-patient-{secrets.token_hex(4)}@example.org",
        "correct horse battery",
        "Alice",
        "Bench",
        date(1985, 5, 17),
        now,
    )
    account = app.get_account(outcome.id)
    assert account.profile_id is not None
    return Actor(outcome.id, "patient"), account.profile_id


def slot_plan(
    app: Consulta,
    practitioners: Sequence[UUID],
    now: datetime,
    days: int = 60,
    part: tuple[int, int] = (0, 1),
) -> list[tuple[UUID, datetime]]:
    """Free slots the rules offer, spread so each agenda day fills slowly, as in a real week.

    `part` = (i, n) keeps the days whose index is i modulo n, so n clients never want one slot.
    """
    first = (now + timedelta(days=1)).astimezone(UTC)
    buckets: list[list[tuple[UUID, datetime]]] = []
    for practitioner_id in practitioners:
        rules = app.get_practitioner(practitioner_id).rules
        start = rules.local_day(first)
        for d in range(days):
            if d % part[1] == part[0]:
                day = start + timedelta(days=d)
                buckets.append(
                    [(practitioner_id, s.starts_at) for s in rules.slots_on(day, MOTIF, "practice")]
                )
    plan = []
    for k in range(max((len(b) for b in buckets), default=0)):
        plan.extend(b[k] for b in buckets if k < len(b))
    return plan


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    return f"median {median(values):.3f} (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def machine() -> str:
    cores = os.cpu_count()
    load = os.getloadavg()
    return f"{cores} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, python {sys.version.split()[0]}"


def wait_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
