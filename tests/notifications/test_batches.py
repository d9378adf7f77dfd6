"""Several keys per actor message: the scheduler's grouping, and a batch that fails half-way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from consulta.workers.email import Outcomes, Outgoing, message_id_for, send_each
from consulta.workers.outbox import LOCK_CLASS
from consulta.workers.scheduler import Scheduler
from tests.notifications.helpers import Clock, book_ahead, deliverer
from tests.notifications.smtp_server import SmtpServer

SENDER = "rdv@cabinet.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def add_due_rows(database_url: str, schema: str, prefix: str, count: int, now: Any) -> list[str]:
    keys = [f"{prefix}:email:{i}" for i in range(count)]
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {}.notification_due (key, kind, channel, due_at) VALUES (%s, 'bench', 'email', %s)"
            ).format(sql.Identifier(schema)),
            [(k, now - timedelta(minutes=1)) for k in keys],
        )
    return keys


@pytest.fixture
def own_due_table(settings) -> Iterator[str]:
    """A schema of its own with an empty copy of the due table: rows that other tests' projections make
    due meanwhile (the session shares one database) cannot join the claim and change how it is split."""
    schema = f"due_{uuid4().hex[:10]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {}.notification_due (LIKE read.notification_due INCLUDING ALL)").format(
                sql.Identifier(schema)
            )
        )
    yield schema
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.parametrize(("count", "messages"), [(1, 1), (5, 5), (45, 8), (200, 10)])
def test_the_scheduler_spreads_a_claim_over_messages_of_at_most_twenty_keys(
    settings, now, own_due_table, count, messages
):
    keys = add_due_rows(settings.database_url, own_due_table, "batch", count, now)
    singles: list[str] = []
    groups: list[list[str]] = []
    scheduler = Scheduler(
        settings.database_url,
        own_due_table,
        singles.append,
        Clock(now),
        enqueue_many=groups.append,
        batch=500,
    )
    try:
        while scheduler.claim_once():
            pass
    finally:
        scheduler.close()
    claimed = [*groups, *[[s] for s in singles]]
    assert len(claimed) == messages
    assert all(len(g) <= 20 for g in claimed)
    assert Counter(k for g in claimed for k in g) == Counter(keys)  # every key once


class FailingOnce:
    """An e-mail sender whose n-th message fails like a crash (not an SMTP error)."""

    def __init__(self, real: Any, fail_at: int) -> None:
        self.real, self.fail_at, self.calls = real, fail_at, 0

    def send(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the worker died here")
        return str(self.real.send(*args, **kwargs))

    def send_many(self, messages: list[Outgoing]) -> Outcomes:
        return send_each(self, messages)  # one send after another, through the failing `send`


def test_a_batch_that_breaks_half_way_keeps_what_it_sent_and_sends_the_broken_key_once(
    services, settings, now, smtp
):
    bookings = [book_ahead(services, now, 10, index=i) for i in range(3)]
    keys = [f"confirmation:email:{b.id}" for b in bookings]
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    d.email = FailingOnce(d.email, fail_at=2)
    with pytest.raises(RuntimeError):
        d.deliver_many(keys)
    assert len(smtp.messages) == 2  # the first and the third went out and were recorded
    assert d.deliver_many(keys) == ["already done", "sent", "already done"]  # the message comes back
    assert d.deliver_many(keys) == ["already done"] * 3
    ids = Counter(m.message["Message-ID"] for m in smtp.messages)
    assert ids == Counter({message_id_for(k, "Cabinet <rdv@cabinet.example>"): 1 for k in keys})


def test_a_server_down_puts_the_rest_of_the_batch_back_untried(services, settings, now, smtp):
    bookings = [book_ahead(services, now, 10, index=i) for i in range(3)]
    keys = [f"confirmation:email:{b.id}" for b in bookings]
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    d.email = counting = FailingOnce(d.email, fail_at=0)  # never fails itself: counts the tries
    smtp.handler.reply = "451 4.3.0 Try again later"
    outcomes = d.deliver_many(keys)
    assert outcomes == ["retry later: SMTP server answered 451 4.3.0 Try again later"] * 3
    assert counting.calls == 1  # the first met the deferral; the other two waited their turn untried
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT attempts, due_at > %s AS later, claimed_at FROM read.notification_due WHERE key = ANY(%s)",
            (now, keys),
        ).fetchall()
    assert rows == [(1, True, None)] * 3
    smtp.handler.reply = None
    later = Clock(now + timedelta(minutes=5))
    d.clock = later
    assert d.deliver_many(keys) == ["sent"] * 3
    assert len(smtp.messages) == 3


def test_a_key_that_raises_does_not_hold_back_the_rest_of_its_batch(services, settings, now, smtp):
    bookings = [book_ahead(services, now, 10, index=i) for i in range(3)]
    keys = [f"confirmation:email:{b.id}" for b in bookings]
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    d.email = FailingOnce(d.email, fail_at=1)
    with pytest.raises(RuntimeError):
        d.deliver_many(keys)
    assert len(smtp.messages) == 2  # the two others went out in the same pass
    assert d.deliver_many(keys) == ["sent", "already done", "already done"]  # the retry sends the first, once
    assert len(smtp.messages) == 3


def advisory_locks(conn: Any) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    ).fetchone()[0]


def test_a_key_held_by_another_worker_is_left_to_it_and_sent_once_released(services, settings, now, smtp):
    booked = book_ahead(services, now, 10)
    key = f"confirmation:email:{booked.id}"
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    with psycopg.connect(settings.database_url, autocommit=True) as other:  # another worker's session
        other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, key))
        assert d.deliver_many([key]) == ["busy or unknown"]
        assert smtp.messages == []
    # Its session ended without recording anything (a worker killed mid-send): the lock went with it.
    assert d.deliver_many([key]) == ["sent"]
    assert d.deliver_many([key]) == ["already done"]
    assert len(smtp.messages) == 1


def test_the_connection_goes_back_to_the_pool_without_locks_even_after_a_key_raised(
    services, settings, now, smtp
):
    bookings = [book_ahead(services, now, 10, index=i) for i in range(2)]
    keys = [f"confirmation:email:{b.id}" for b in bookings]
    d = deliverer(settings.database_url, smtp.port, Clock(now + timedelta(seconds=5)))
    d.pool.resize(1, 1)  # one connection: the one the batch used
    d.email = FailingOnce(d.email, fail_at=1)
    with pytest.raises(RuntimeError):
        d.deliver_many(keys)
    with d.pool.connection() as conn:
        assert advisory_locks(conn) == 0
    with psycopg.connect(settings.database_url, autocommit=True) as other:  # nobody else is kept out
        taken = other.execute(
            "SELECT bool_and(pg_try_advisory_lock(%s, hashtext(k))) FROM unnest(%s::text[]) AS u(k)",
            (LOCK_CLASS, keys),
        ).fetchone()[0]
        assert taken is True


def test_the_worker_pool_commits_each_statement_without_waiting_for_the_flush(settings):
    from consulta.workers import runtime

    d = runtime.build(settings, pool_size=1)
    try:
        with d.pool.connection() as conn:
            assert conn.autocommit is True
            assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "off"
    finally:
        d.pool.close()
