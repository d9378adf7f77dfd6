"""Demo data for a first try (`consulta seed`, and `consulta dev` on first start).

Every demo account shares DEMO_PASSWORD. It is printed by `consulta dev` and
written in the README: demo data is for a laptop, never for a real practice.
Seeding runs only while the event log holds no practitioner at all, so it
cannot mix demo accounts into a real deployment that already has its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from consulta.aggregates.account import EmailIndex
from consulta.aggregates.errors import DomainError, EmailTakenError
from consulta.application import Actor, Consulta, Outcome

DEMO_PASSWORD = "consulta-demo"  # noqa: S105  # demo only: every demo account uses it
PRACTITIONER_REGISTERED = "consulta.Practitioner.Registered"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    who: str


def _week(ranges: list[tuple[str, str, str]], days: range = range(5)) -> list[dict[str, Any]]:
    return [{"weekday": d, "start": s, "end": e, "place": p} for d in days for s, e, p in ranges]


PRACTICE_AND_VIDEO = [
    ("08:30", "12:00", "practice"),
    ("14:00", "17:30", "practice"),
    ("17:30", "19:00", "video"),
]

PRACTITIONERS: list[dict[str, Any]] = [
    {
        "email": "claire.martin@demo.consulta.example",
        "name": "Dr Claire Martin",
        "specialty": "General practitioner",
        "city": "Lyon",
        "address": "12 rue de la République, 69002 Lyon",
        "timezone": "Europe/Paris",
        "hours": _week(PRACTICE_AND_VIDEO) + _week([("09:00", "12:00", "practice")], range(5, 6)),
        "motifs": [
            {"id": "consult", "name": "Consultation", "duration_minutes": 20, "modes": ["practice", "video"]},
            {"id": "first", "name": "First visit", "duration_minutes": 30, "modes": ["practice"]},
            {
                "id": "follow-up",
                "name": "Follow-up (known patients)",
                "duration_minutes": 15,
                "modes": ["practice", "video"],
                "new_patients": False,
            },
            {
                "id": "certificate",
                "name": "Sports certificate",
                "duration_minutes": 20,
                "modes": ["practice"],
            },
        ],
        "policy": {"min_notice_minutes": 120, "horizon_days": 60, "cancel_cutoff_minutes": 240},
    },
    {
        "email": "paul.lefevre@demo.consulta.example",
        "name": "Dr Paul Lefèvre",
        "specialty": "Paediatrician",
        "city": "Paris",
        "address": "8 boulevard Voltaire, 75011 Paris",
        "timezone": "Europe/Paris",
        "hours": _week(
            [("09:00", "12:30", "practice"), ("14:00", "18:00", "practice"), ("18:00", "19:00", "video")]
        ),
        "motifs": [
            {
                "id": "consult",
                "name": "Child consultation",
                "duration_minutes": 30,
                "modes": ["practice", "video"],
            },
            {"id": "vaccination", "name": "Vaccination", "duration_minutes": 15, "modes": ["practice"]},
            {"id": "newborn", "name": "Newborn check-up", "duration_minutes": 45, "modes": ["practice"]},
            {
                "id": "phone-advice",
                "name": "Advice call (booked by the practice)",
                "duration_minutes": 15,
                "modes": ["video"],
                "online": False,
            },
        ],
        # Wednesday mornings' first hour is kept for vaccinations.
        "reserved": [{"weekday": 2, "start": "09:00", "end": "10:00", "motif_ids": ["vaccination"]}],
        "policy": {"min_notice_minutes": 60, "horizon_days": 45, "cancel_cutoff_minutes": 120},
    },
    {
        "email": "ines.moreau@demo.consulta.example",
        "name": "Dr Inès Moreau",
        "specialty": "Dermatologist",
        "city": "Bordeaux",
        "address": "3 cours de l'Intendance, 33000 Bordeaux",
        "timezone": "Europe/Paris",
        "hours": _week(
            [("09:00", "13:00", "practice"), ("14:00", "16:00", "video"), ("16:00", "18:00", "practice")]
        ),
        "motifs": [
            {
                "id": "consult",
                "name": "Skin consultation",
                "duration_minutes": 20,
                "modes": ["practice", "video"],
            },
            {"id": "mole-check", "name": "Mole check", "duration_minutes": 30, "modes": ["practice"]},
            {"id": "acne-follow-up", "name": "Acne follow-up", "duration_minutes": 15, "modes": ["video"]},
        ],
        "policy": {
            "min_notice_minutes": 240,
            "horizon_days": 90,
            "cancel_cutoff_minutes": 1440,
            "video_daily_cap": 4,
        },
    },
    {
        "email": "hugo.bernard@demo.consulta.example",
        "name": "Hugo Bernard",
        "specialty": "Physiotherapist",
        "city": "Nantes",
        "address": "21 quai de la Fosse, 44000 Nantes",
        "timezone": "Europe/Paris",
        "hours": _week([("07:30", "12:00", "practice"), ("13:30", "19:30", "practice")]),
        "motifs": [
            {"id": "session", "name": "Physiotherapy session", "duration_minutes": 30, "modes": ["practice"]},
            {"id": "assessment", "name": "First assessment", "duration_minutes": 45, "modes": ["practice"]},
        ],
        "policy": {"min_notice_minutes": 60, "horizon_days": 30, "cancel_cutoff_minutes": 720},
    },
    {
        "email": "lea.petit@demo.consulta.example",
        "name": "Dr Léa Petit",
        "specialty": "General practitioner",
        "city": "Fort-de-France",
        "address": "5 rue Victor Hugo, 97200 Fort-de-France",
        "timezone": "America/Martinique",
        "hours": _week([("07:00", "12:00", "practice"), ("13:00", "15:00", "video")]),
        "motifs": [
            {"id": "consult", "name": "Consultation", "duration_minutes": 20, "modes": ["practice", "video"]},
            {"id": "renewal", "name": "Prescription renewal", "duration_minutes": 10, "modes": ["video"]},
        ],
        "policy": {"min_notice_minutes": 120, "horizon_days": 60, "cancel_cutoff_minutes": 240},
    },
]

PATIENTS: list[dict[str, Any]] = [
    {
        "email": "alice.durand@demo.consulta.example",
        "first": "Alice",
        "last": "Durand",
        "birth": date(1985, 5, 17),
    },
    {
        "email": "bruno.garcia@demo.consulta.example",
        "first": "Bruno",
        "last": "Garcia",
        "birth": date(1972, 11, 2),
    },
    {
        "email": "chloe.roux@demo.consulta.example",
        "first": "Chloé",
        "last": "Roux",
        "birth": date(1999, 2, 28),
    },
]


# (practitioner, patient, motif, mode, days ahead): Alice sees Dr Martin at the practice,
# Bruno Dr Moreau by video, Chloé Dr Lefèvre at the practice.
DEMO_BOOKINGS = [
    (0, 0, "consult", "practice", 2),
    (2, 1, "consult", "video", 3),
    (1, 2, "consult", "practice", 4),
]


SECRETARY = {"email": "secretariat@demo.consulta.example", "who": "Secrétariat Téléaccueil"}
DEMO_CHILD: dict[str, Any] = {
    "first": "Zoé",
    "last": "Durand",
    "birth": date(2016, 9, 12),
}  # first patient's family


def demo_logins() -> list[DemoLogin]:
    practitioners = [
        DemoLogin("practitioner", p["email"], f"{p['name']}, {p['specialty']}, {p['city']}")
        for p in PRACTITIONERS
    ]
    patients = [DemoLogin("patient", p["email"], f"{p['first']} {p['last']}") for p in PATIENTS]
    secretary = [DemoLogin("secretary", SECRETARY["email"], SECRETARY["who"])]
    return practitioners + patients + secretary


def has_practitioners(app: Consulta) -> bool:
    found = app.recorder.select_notifications(start=None, limit=1, topics=[PRACTITIONER_REGISTERED])
    return bool(found)


def demo_present(app: Consulta) -> bool:
    """True when the demo accounts exist (checked by the first one's e-mail index)."""
    try:
        app.repository.get(EmailIndex.id_for(PRACTITIONERS[0]["email"]))
    except AggregateNotFoundError:
        return False
    return True


def seed(app: Consulta, now: datetime) -> int | None:
    """Record the demo practitioners, patients and a few bookings.

    Returns the log position to wait for, or None when the log already holds a
    practitioner (nothing is recorded then).
    """
    if has_practitioners(app):
        return None
    position = 0
    try:
        agendas = [_add_practitioner(app, spec, now) for spec in PRACTITIONERS]
        patients = [_add_patient(app, spec, now) for spec in PATIENTS]
    except EmailTakenError:  # another process seeded at the same moment
        return None
    position = max(p for _, _, p in agendas + patients)
    position = max(position, _add_secretary_and_family(app, agendas, patients, now))
    # A few bookings so that agendas and "my appointments" are not empty.
    for practitioner_index, patient_index, motif, mode, days_ahead in DEMO_BOOKINGS:
        practitioner_id = agendas[practitioner_index][0]
        patient, profile_id, _ = patients[patient_index]
        booked = _book_first_free(app, practitioner_id, patient, profile_id, motif, mode, now, days_ahead)
        position = max(position, booked.position if booked else 0)
    return max(position, _add_past_visit(app, agendas[0], patients[0], now))


def _add_past_visit(app: Consulta, agenda: Any, patient: Any, now: datetime) -> int:
    """The first patient saw the first practitioner two weeks ago (honoured): a known patient, so the
    follow-up motif and the "teleconsultation now" page have someone to offer in the demo."""
    practitioner_id, staff, _ = agenda
    actor, profile_id, _ = patient
    then = now - timedelta(days=15)
    booked = _book_first_free(app, practitioner_id, actor, profile_id, "consult", "practice", then, 1)
    if booked is None:
        return 0
    ends_at: datetime = app.repository.get(booked.id).ends_at
    return app.mark_honoured(staff, booked.id, ends_at + timedelta(minutes=5)).position


def _add_practitioner(app: Consulta, spec: dict[str, Any], now: datetime) -> tuple[Any, Actor, int]:
    outcome = app.add_practitioner(
        spec["email"],
        DEMO_PASSWORD,
        spec["name"],
        spec["specialty"],
        spec["city"],
        now,
        address=spec["address"],
        timezone=spec["timezone"],
    )
    actor = Actor(app.get_practitioner(outcome.id).account_id, "practitioner", outcome.id)
    configured = app.configure_agenda(
        actor,
        outcome.id,
        hours=spec["hours"],
        motifs=spec["motifs"],
        reserved=spec.get("reserved"),
        policy=spec["policy"],
    )
    return outcome.id, actor, configured.position


def _add_patient(app: Consulta, spec: dict[str, Any], now: datetime) -> tuple[Actor, Any, int]:
    outcome = app.register_patient(
        spec["email"], DEMO_PASSWORD, spec["first"], spec["last"], spec["birth"], now
    )
    account = app.get_account(outcome.id)
    return Actor(outcome.id, "patient"), account.profile_id, outcome.position


def _book_first_free(
    app: Consulta,
    practitioner_id: Any,
    patient: Actor,
    profile_id: Any,
    motif: str,
    mode: str,
    now: datetime,
    days_ahead: int,
) -> Outcome | None:
    """Book the first slot offered `days_ahead` days from now or later (None if none could be)."""
    rules = app.get_practitioner(practitioner_id).rules
    first_day = rules.local_day(now) + timedelta(days=days_ahead)
    for offset in range(14):
        for slot in rules.slots_on(first_day + timedelta(days=offset), motif, mode):
            try:
                return app.book(patient, practitioner_id, motif, mode, slot.starts_at, profile_id, now)
            except DomainError:
                continue
    return None


def _add_secretary_and_family(app: Consulta, agendas: list[Any], patients: list[Any], now: datetime) -> int:
    """A secretariat granted by the first two practitioners, and a child in the first patient's family."""
    position = app.add_secretary(SECRETARY["email"], DEMO_PASSWORD, now).position
    for _, staff, _ in agendas[:2]:
        position = max(position, app.grant_secretary(staff, SECRETARY["email"], now).position)
    parent = patients[0][0]
    child = DEMO_CHILD
    return max(position, app.add_profile(parent, child["first"], child["last"], child["birth"], now).position)
