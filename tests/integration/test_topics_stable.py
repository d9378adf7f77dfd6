"""Event topics are stored data: events written by an earlier version must still load.

The events below are written by hand, topic and JSON state, as Consulta
stores them; renaming or moving a class without keeping its TOPIC, or
renaming an event's field, makes these histories unloadable and this test fail.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from consulta import aggregates
from consulta.aggregates import agenda_day, appointment
from consulta.application import Consulta
from tests.unit.helpers import POPO

WHEN = '{"_type_":"datetime_iso","_data_":"2026-02-01T10:00:00+00:00"}'


def uid(value: UUID) -> str:
    return '{"_type_":"uuid_hex","_data_":"' + value.hex + '"}'


def instant(value: str) -> str:
    return '{"_type_":"datetime_iso","_data_":"' + value + '"}'


@pytest.fixture(params=["memory", "postgres"])
def app(request) -> Iterator[Consulta]:
    env = POPO if request.param == "memory" else request.getfixturevalue("settings").eventsourcing_env()
    app = Consulta(env=env)
    yield app
    app.close()


def store(app: Consulta, originator_id: UUID, events: list[tuple[str, str]]) -> None:
    """Write (topic, JSON state) events as the mapper would, through any compressor or cipher."""
    stored = []
    for version, (topic, state) in enumerate(events, start=1):
        data = ("{" + f'"timestamp":{WHEN},' + state + "}").encode()
        if app.mapper.compressor is not None:
            data = app.mapper.compressor.compress(data)
        if app.mapper.cipher is not None:
            data = app.mapper.cipher.encrypt(data)
        stored.append(StoredEvent(originator_id, version, topic, data))
    app.recorder.insert_events(stored)


def test_an_old_appointment_history_loads(app):
    appointment_id, practitioner_id, profile_id, patient = uuid4(), uuid4(), uuid4(), uuid4()
    by = f'"by":{uid(patient)},"by_role":"patient"'
    store(
        app,
        appointment_id,
        [
            (
                "consulta.Appointment.Booked",
                f'"originator_topic":"consulta.Appointment","practitioner_id":{uid(practitioner_id)},'
                f'"profile_id":{uid(profile_id)},"motif_id":"short","starts_at":{instant("2026-03-02T08:00:00+00:00")},'
                f'"ends_at":{instant("2026-03-02T08:20:00+00:00")},"mode":"practice",{by}',
            ),
            (
                "consulta.Appointment.Rescheduled",
                f'{by},"starts_at":{instant("2026-03-03T08:00:00+00:00")},"ends_at":{instant("2026-03-03T08:20:00+00:00")},'
                f'"mode":"video","previous_starts_at":{instant("2026-03-02T08:00:00+00:00")}',
            ),
            ("consulta.Appointment.Cancelled", f'{by},"reason":"away"'),
        ],
    )
    loaded = app.repository.get(appointment_id)
    assert isinstance(loaded, appointment.Appointment)
    assert (loaded.practitioner_id, loaded.profile_id, loaded.booked_by) == (
        practitioner_id,
        profile_id,
        patient,
    )
    assert (loaded.starts_at, loaded.mode, loaded.status, loaded.closed_reason) == (
        datetime(2026, 3, 3, 8, tzinfo=UTC),
        "video",
        "cancelled",
        "away",
    )


def test_an_old_agenda_day_history_loads(app):
    practitioner_id, booking, hold, block, holder = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    day_id = agenda_day.AgendaDay.id_for(practitioner_id, date(2026, 3, 2))
    nine, twenty_past = instant("2026-03-02T08:00:00+00:00"), instant("2026-03-02T08:20:00+00:00")
    store(
        app,
        day_id,
        [
            (
                "consulta.AgendaDay.Opened",
                f'"originator_topic":"consulta.AgendaDay","practitioner_id":{uid(practitioner_id)},'
                '"day":{"_type_":"date_iso","_data_":"2026-03-02"}',
            ),
            (
                "consulta.AgendaDay.SlotHeld",
                f'"hold_id":"{hold}","starts_at":{nine},"ends_at":{twenty_past},'
                f'"mode":"practice","held_until":{instant("2026-03-01T10:05:00+00:00")},'
                f'"dropped":[],"by":{uid(holder)},"by_role":"patient"',
            ),
            (
                "consulta.AgendaDay.AppointmentPlaced",
                f'"appointment_id":"{booking}","starts_at":{nine},'
                f'"ends_at":{twenty_past},"mode":"practice","hold_id":"{hold}"',
            ),
            (
                "consulta.AgendaDay.PeriodBlocked",
                f'"block_id":"{block}","starts_at":{instant("2026-03-02T12:00:00+00:00")},'
                f'"ends_at":{instant("2026-03-02T13:00:00+00:00")},'
                f'"by":{uid(uuid4())},"by_role":"practitioner"',
            ),
            ("consulta.AgendaDay.BlockLifted", f'"block_id":"{block}","by":null,"by_role":"practitioner"'),
            ("consulta.AgendaDay.AppointmentReleased", f'"appointment_id":"{booking}"'),
        ],
    )
    loaded = app.repository.get(day_id)
    assert isinstance(loaded, agenda_day.AgendaDay)
    assert (loaded.practitioner_id, loaded.day, loaded.version) == (practitioner_id, date(2026, 3, 2), 6)
    assert (loaded.appointments, loaded.holds, loaded.blocks) == ({}, {}, {})


def test_an_old_practitioner_and_account_history_loads(app):
    practitioner_id, account_id, profile_id = uuid4(), uuid4(), uuid4()
    policy = (
        '{"timezone":"Europe/Paris","min_notice_minutes":120,"horizon_days":60,'
        '"cancel_cutoff_minutes":240,"video_daily_cap":null}'
    )
    store(
        app,
        practitioner_id,
        [
            (
                "consulta.Practitioner.Registered",
                f'"originator_topic":"consulta.Practitioner","account_id":{uid(account_id)},"name":"Dr Old",'
                f'"specialty":"GP","city":"Lyon","address":"","policy":{policy}',
            ),
            (
                "consulta.Practitioner.OpeningHoursSet",
                '"hours":[{"weekday":0,"start":"09:00","end":"12:00","place":"video"}]',
            ),
            (
                "consulta.Practitioner.MotifSaved",
                '"motif":{"id":"short","name":"Short","duration_minutes":20,"modes":["video"],"online":true,'
                '"new_patients":true}',
            ),
            ("consulta.Practitioner.ReservedPeriodsSet", '"periods":[]'),
            ("consulta.Practitioner.PolicySet", f'"policy":{policy.replace("120", "30")}'),
        ],
    )
    store(
        app,
        account_id,
        [
            (
                "consulta.Account.Registered",
                '"originator_topic":"consulta.Account","email":"old@example.org",'
                '"password_hash":"$argon2id$old","role":"practitioner","profile_id":null',
            ),
            ("consulta.Account.PractitionerLinked", f'"practitioner_id":{uid(practitioner_id)}'),
        ],
    )
    store(
        app,
        profile_id,
        [
            (
                "consulta.Profile.Created",
                '"originator_topic":"consulta.Profile","first_name":"Ann","last_name":"Old",'
                f'"birth_date":{{"_type_":"date_iso","_data_":"1970-01-01"}},'
                f'"manager_id":{uid(account_id)},"by":null',
            ),
        ],
    )
    found = app.get_practitioner(practitioner_id)
    assert (found.name, found.rules.policy.min_notice_minutes, found.offers_video) == ("Dr Old", 30, True)
    assert app.get_account(account_id).practitioner_id == practitioner_id
    assert app.get_profile(profile_id).birth_date == date(1970, 1, 1)


def _domain_classes() -> Iterator[type]:
    """Every aggregate and event class of every module of the domain, present and future."""
    for found in pkgutil.iter_modules(aggregates.__path__):
        module = importlib.import_module(f"{aggregates.__name__}.{found.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Aggregate) and cls.__module__ == module.__name__:
                yield cls
                yield from (
                    e
                    for name, e in vars(cls).items()
                    if inspect.isclass(e)
                    and issubclass(e, DomainEvent)
                    and name != "Event"  # the base, never stored
                )


@pytest.mark.parametrize("cls", list(_domain_classes()), ids=lambda c: c.__qualname__)
def test_every_aggregate_and_event_names_its_topic_explicitly(cls):
    """A default topic is `module:QualName`: it would change with the next move."""
    topic = get_topic(cls)
    assert topic.startswith("consulta.") and ":" not in topic
