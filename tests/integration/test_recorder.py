"""The one-round-trip recorder keeps the event store's guarantees under concurrent writers."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from consulta.application import Consulta
from consulta.recorder import ConsultaRecorder


class Counter(Aggregate):
    TOPIC = "tests.recorder.Counter"

    class Created(Aggregate.Created):
        TOPIC = "tests.recorder.Counter.Created"

    def __init__(self) -> None:
        self.count = 0

    class Bumped(Aggregate.Event):
        TOPIC = "tests.recorder.Counter.Bumped"

        def apply(self, aggregate: Counter) -> None:  # type: ignore[override]
            aggregate.count += 1

    def bump(self) -> None:
        self.trigger_event(self.Bumped)


def test_shipped_settings_use_the_one_round_trip_recorder(settings):
    app = Consulta(env=settings.eventsourcing_env())
    try:
        assert type(app.recorder) is ConsultaRecorder
    finally:
        app.close()


def test_a_conflict_stores_nothing_of_the_whole_save(settings):
    app = Consulta(env=settings.eventsourcing_env())
    try:
        first = Counter()
        app.save(first)
        stale = app.repository.get(first.id)
        fresh = app.repository.get(first.id)
        fresh.bump()
        app.save(fresh)
        bystander = Counter()
        stale.bump()
        before = app.recorder.max_notification_id()
        with pytest.raises(IntegrityError):
            app.save(bystander, stale)
        assert app.recorder.max_notification_id() == before
        assert bystander.id not in app.repository
        assert app.repository.get(first.id).version == 2
    finally:
        app.close()


def test_a_follower_of_the_log_never_skips_an_event_under_concurrent_writers(settings):
    """Eight writers save while a reader follows the log as a projection does."""
    env = {**settings.eventsourcing_env(), "POSTGRES_POOL_SIZE": "8"}
    app = Consulta(env=env)
    start = app.recorder.max_notification_id() or 0
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(150):
                app.save(*(Counter() for _ in range(2)))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    def follow() -> None:
        position = start
        while True:
            done = stop.is_set()
            found = app.recorder.select_notifications(position, 500, inclusive_of_start=False)
            seen.extend(n.id for n in found)
            if found:
                position = found[-1].id
            elif done:
                return

    follower = threading.Thread(target=follow)
    follower.start()
    writers = [threading.Thread(target=write) for _ in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    follower.join()
    try:
        assert not errors
        everything = app.recorder.select_notifications(start, 100_000, inclusive_of_start=False)
        assert len(everything) == 8 * 150 * 2
        assert seen == [n.id for n in everything]
    finally:
        app.close()


def test_loading_events_answers_as_the_library_does(settings):
    from eventsourcing.postgres import PostgresApplicationRecorder

    app = Consulta(env=settings.eventsourcing_env())
    try:
        counter = Counter()
        for _ in range(5):
            counter.bump()
        app.save(counter)
        recorder = app.recorder
        for gt in (None, 1):
            for lte in (None, 4):
                for desc in (False, True):
                    for limit in (None, 2):
                        kwargs = {"gt": gt, "lte": lte, "desc": desc, "limit": limit}
                        ours = recorder.select_events(counter.id, **kwargs)
                        theirs = PostgresApplicationRecorder.select_events(recorder, counter.id, **kwargs)
                        assert ours == theirs and ours, kwargs
        assert app.repository.get(counter.id).count == 5
    finally:
        app.close()
