"""Building practitioners and patients for tests (through the real commands)."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from uuid import UUID

from consulta.application import Actor, Consulta

WEEKDAY_HOURS = [
    {"weekday": d, "start": start, "end": end, "place": place}
    for d in range(5)
    for start, end, place in (
        ("09:00", "12:00", "practice"),
        ("14:00", "17:00", "practice"),
        ("17:00", "18:00", "video"),
    )
] + [{"weekday": 5, "start": "09:00", "end": "12:00", "place": "practice"}]

MOTIFS = [
    {"id": "consult", "name": "Consultation", "duration_minutes": 20, "modes": ["practice", "video"]},
    {"id": "long", "name": "Long consultation", "duration_minutes": 40, "modes": ["practice"]},
    {
        "id": "first",
        "name": "First visit",
        "duration_minutes": 30,
        "modes": ["practice"],
        "new_patients": True,
    },
]


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(4)}@example.org"


def make_practitioner(
    app: Consulta,
    now: datetime,
    *,
    timezone: str = "Europe/Paris",
    policy: dict | None = None,
    name: str = "Dr Claire Martin",
    specialty: str = "General practitioner",
    city: str = "Lyon",
    hours: list | None = None,
    motifs: list | None = None,
) -> tuple[UUID, Actor, int]:
    outcome = app.add_practitioner(
        unique_email("dr"), "correct horse battery", name, specialty, city, now, "1 rue de la Paix", timezone
    )
    practitioner = app.get_practitioner(outcome.id)
    actor = Actor(practitioner.account_id, "practitioner", outcome.id)
    configured = app.configure_agenda(
        actor,
        outcome.id,
        hours=WEEKDAY_HOURS if hours is None else hours,
        motifs=MOTIFS if motifs is None else motifs,
        policy=policy,
    )
    return outcome.id, actor, configured.position


def make_patient(
    app: Consulta, now: datetime, first: str = "Alice", last: str = "Durand"
) -> tuple[Actor, UUID, str]:
    email = unique_email("patient")
    outcome = app.register_patient(email, "correct horse battery", first, last, date(1985, 5, 17), now)
    account = app.get_account(outcome.id)
    assert account.profile_id is not None
    return Actor(outcome.id, "patient"), account.profile_id, email
