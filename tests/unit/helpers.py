"""In-memory Consulta and fixed instants for the domain tests.

Practitioners and profiles are saved straight from their aggregates: the
argon2 hashing of real accounts would dominate the stateful tests' run time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from consulta.aggregates.account import Profile
from consulta.aggregates.practitioner import Practitioner
from consulta.application import Actor, Consulta

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
# Monday 2026-06-01, 06:00 UTC (08:00 in Paris).
NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)

EVERY_DAY = [
    {"weekday": d, "start": s, "end": e, "place": p}
    for d in range(7)
    for s, e, p in (("09:00", "12:00", "practice"), ("14:00", "16:00", "video"))
]
MOTIFS = [
    {"id": "short", "name": "Short visit", "duration_minutes": 20, "modes": ["practice", "video"]},
    {"id": "long", "name": "Long visit", "duration_minutes": 40, "modes": ["practice", "video"]},
    {"id": "offline", "name": "Procedure", "duration_minutes": 60, "modes": ["practice"], "online": False},
]


def memory_app() -> Consulta:
    return Consulta(env=POPO)


def at(day: date, hhmm: str, zone: str = "Europe/Paris") -> datetime:
    """The UTC instant of a local wall-clock time."""
    from zoneinfo import ZoneInfo

    hour, minute = (int(x) for x in hhmm.split(":"))
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def add_practitioner(
    app: Consulta,
    *,
    timezone: str = "Europe/Paris",
    hours: list[dict[str, Any]] | None = None,
    motifs: list[dict[str, Any]] | None = None,
    reserved: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
) -> tuple[UUID, Actor]:
    practitioner = Practitioner.register(uuid4(), "Dr Test", "General practitioner", "Lyon", "", timezone)
    if policy:
        practitioner.set_policy(**policy)
    practitioner.set_opening_hours(EVERY_DAY if hours is None else hours)
    for motif in MOTIFS if motifs is None else motifs:
        practitioner.save_motif(motif)
    if reserved:
        practitioner.set_reserved_periods(reserved)
    app.save(practitioner)
    return practitioner.id, Actor(practitioner.account_id, "practitioner", practitioner.id)


def add_patient(app: Consulta) -> tuple[Actor, UUID]:
    account_id = uuid4()
    profile = Profile.create("Alice", "Durand", date(1985, 5, 17), account_id, account_id, NOW.date())
    app.save(profile)
    return Actor(account_id, "patient"), profile.id


def days_after(start: datetime, days: int) -> date:
    return (start + timedelta(days=days)).date()
