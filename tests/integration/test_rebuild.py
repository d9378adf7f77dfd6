"""`consulta rebuild NAME`: a read model rebuilt from the event log equals the live one, row for row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from consulta.aggregates.rules import AgendaRules, Slot
from consulta.database import rebuild
from consulta.projections import PROJECTIONS
from consulta.services import Services
from consulta.settings import Settings
from tests.factories import make_patient, make_practitioner


def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table of every projection, ordered by all its columns.

    Columns a projection declares in `worker_columns` (written by workers, or
    stamped with now() when projected) are left out: a rebuild resets them.
    """
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(settings.database_url) as conn:
        for cls in PROJECTIONS.values():
            skipped = getattr(cls, "worker_columns", {})
            for table in cls.tables:
                name = sql.Identifier(settings.read_schema, table)
                described = conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(name)).description or ()
                columns = [c.name for c in described if c.name not in skipped.get(table, ())]
                selected = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
                order = sql.SQL(", ").join(sql.Literal(i) for i in range(1, len(columns) + 1))
                query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(selected, name, order)
                tables[f"{cls.name}.{table}"] = conn.execute(query).fetchall()
    return tables


def open_days(rules: AgendaRules, now: datetime, mode: str, count: int) -> list[list[Slot]]:
    """The `consult` slots in `mode` of the next `count` days that offer some, from two days ahead."""
    days: list[list[Slot]] = []
    day: date = rules.local_day(now) + timedelta(days=2)
    while len(days) < count:
        slots = list(rules.slots_on(day, "consult", mode))
        if slots:
            days.append(slots)
        day += timedelta(days=1)
    return days


def test_every_rebuilt_read_model_equals_the_live_one_row_for_row(
    services: Services, settings: Settings, now: datetime
) -> None:
    app = services.app
    practitioner_id, staff, _ = make_practitioner(app, now, policy={"video_daily_cap": 2})
    alice, alice_profile, _ = make_patient(app, now)
    bruno, bruno_profile, _ = make_patient(app, now, "Bruno", "Garcia")
    rules = app.get_practitioner(practitioner_id).rules
    first, second, third, fourth = open_days(rules, now, "practice", 4)
    (video_day,) = open_days(rules, now, "video", 1)

    cancelled = app.book(
        alice, practitioner_id, "consult", "practice", first[0].starts_at, alice_profile, now
    )
    moved = app.book(bruno, practitioner_id, "consult", "practice", first[1].starts_at, bruno_profile, now)
    kept = app.book(alice, practitioner_id, "consult", "video", video_day[0].starts_at, alice_profile, now)
    app.open_consultation(staff, now, appointment_id=kept.id)  # a waiting_room row
    by_staff = app.book(
        staff, practitioner_id, "consult", "practice", second[2].starts_at, bruno_profile, now
    )
    app.cancel(alice, cancelled.id, "cannot come", now)
    app.reschedule(bruno, moved.id, third[0].starts_at, now)
    app.hold_slot(alice, practitioner_id, "consult", "practice", third[3].starts_at, now, minutes=5)
    block = app.block_period(staff, practitioner_id, fourth[0].starts_at, fourth[3].ends_at, now)
    lifted = app.block_period(staff, practitioner_id, fourth[5].starts_at, fourth[6].ends_at, now)
    app.lift_block(staff, practitioner_id, lifted.id, fourth[5].starts_at, fourth[6].ends_at)

    head = app.recorder.max_notification_id() or 0
    assert services.wait_for(head, tuple(PROJECTIONS))
    live = snapshot(settings)

    # The scenario left rows of every kind, so an empty rebuild could not pass.
    agenda_ids = {row[0] for row in live["agenda.agenda_appointments"]}
    assert {cancelled.id, moved.id, kept.id, by_staff.id} <= agenda_ids
    assert any(block.id in row for row in live["agenda.agenda_blocks"])
    assert live["agenda.agenda_holds"]
    booking = ("practitioner_directory.", "profiles.", "agenda.", "patient_appointments.")
    assert all(rows for name, rows in live.items() if name.startswith(booking))

    for name in PROJECTIONS:
        assert rebuild(settings, name) > 0  # events read (ids have gaps: a failed insert burns one)
    assert all(position >= head for position in services.reads.positions().values())
    rebuilt = snapshot(settings)
    for table, rows in live.items():
        assert rebuilt[table] == rows, (
            f"{table} differs after its rebuild (columns not derived from events belong in worker_columns)"
        )
