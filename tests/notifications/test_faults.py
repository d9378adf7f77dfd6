"""Faults that must be survived, against real Redis, a real SMTP exchange and real processes."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import psycopg
import pytest

from consulta.workers.broker import configure, make_broker
from consulta.workers.email import message_id_for
from tests.notifications.helpers import book_ahead, due_rows
from tests.notifications.processes import fleet, wait_until
from tests.notifications.smtp_server import SmtpServer, free_port

SENDER = "rdv@cabinet.example"
pytestmark = pytest.mark.slow


def email_keys(settings, booked) -> list[str]:
    return [
        r["key"]
        for r in due_rows(settings.database_url, appointment_id=booked.id)
        if r["channel"] == "email" and r["due_at"] <= r["created_at"] + timedelta(minutes=1)
    ]


def counts(smtp: SmtpServer, keys: list[str]) -> Counter[str]:
    ids = {message_id_for(k, SENDER): k for k in keys}
    return Counter(ids[m.message["Message-ID"]] for m in smtp.messages if m.message["Message-ID"] in ids)


def sent_rows(settings, key: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute("SELECT count(*) FROM read.notification_sent WHERE key = %s", (key,)).fetchone()[
            0
        ]


def test_a_worker_killed_mid_send_is_replaced_and_the_message_goes_once(services, settings, redis_url, now):
    smtp = SmtpServer()
    smtp.handler.hold_ehlo = threading.Event()
    smtp.start()
    try:
        with fleet(settings, redis_url, smtp.port) as f:
            booked = book_ahead(services, now, 10)
            keys = email_keys(settings, booked)
            assert len(keys) == 2  # the patient's confirmation, the practitioner's alert
            f.scheduler()
            first = f.worker("--threads", "1")
            wait_until(
                lambda: smtp.handler.ehlo_seen >= 1, what="the worker to be talking to the SMTP server"
            )
            first.send_signal(signal.SIGKILL)
            first.wait()
            smtp.handler.hold_ehlo.set()
            f.worker()
            wait_until(lambda: len(counts(smtp, keys)) == 2, timeout=45, what="both e-mails")
            time.sleep(4)  # past the reclaim delay: nothing goes twice
            assert counts(smtp, keys) == Counter({k: 1 for k in keys})
            assert all(sent_rows(settings, k) == 1 for k in keys)
    finally:
        smtp.stop()


def test_reminders_enqueued_then_lost_with_redis_still_go_out_from_postgres(
    services, settings, redis_url, now
):
    smtp = SmtpServer().start()
    try:
        with fleet(settings, redis_url, smtp.port) as f:
            booked = book_ahead(services, now, 3)
            with psycopg.connect(settings.database_url) as conn:  # the day before has come
                conn.execute(
                    "UPDATE read.notification_due SET due_at = now() WHERE profile_id = %s AND kind = 'reminder'"
                    " AND channel = 'email'",
                    (booked.profile_id,),
                )
            [reminder] = due_rows(
                settings.database_url, profile_id=booked.profile_id, kind="reminder", channel="email"
            )
            f.scheduler(reclaim_after=3.0)
            wait_until(
                lambda: due_rows(settings.database_url, key=reminder["key"])[0]["claimed_at"],
                what="the claim",
            )
            assert f.flush() > 0  # the enqueued messages are gone with Redis
            f.worker()
            wait_until(lambda: counts(smtp, [reminder["key"]]), timeout=30, what="the reminder")
            time.sleep(4)
            assert counts(smtp, [reminder["key"]]) == Counter({reminder["key"]: 1})
            body = next(
                m for m in smtp.messages if m.message["Message-ID"] == message_id_for(reminder["key"], SENDER)
            )
            assert body.message["Subject"].startswith("Rappel")
    finally:
        smtp.stop()


def test_an_smtp_server_down_for_a_while_gets_the_message_once_it_is_back(services, settings, redis_url, now):
    port = free_port()
    smtp = SmtpServer(port=port)
    with fleet(settings, redis_url, port) as f:
        f.scheduler()
        f.worker()
        booked = book_ahead(services, now, 10)
        key = f"confirmation:email:{booked.id}"
        wait_until(
            lambda: due_rows(settings.database_url, key=key)[0]["attempts"] >= 2, timeout=30, what="retries"
        )
        assert "unreachable" in due_rows(settings.database_url, key=key)[0]["last_error"]
        smtp.start()
        try:
            wait_until(lambda: counts(smtp, [key]), timeout=30, what="the e-mail")
            time.sleep(4)
            assert counts(smtp, [key]) == Counter({key: 1})
            row = due_rows(settings.database_url, key=key)[0]
            assert row["outcome"] == "sent" and row["failed_at"] is None
        finally:
            smtp.stop()


def test_the_same_message_delivered_twice_sends_one_email(services, settings, redis_url, now):
    smtp = SmtpServer().start()
    try:
        with fleet(settings, redis_url, smtp.port) as f:
            booked = book_ahead(services, now, 10)
            key = f"confirmation:email:{booked.id}"
            actors = configure(make_broker(redis_url, namespace=f.namespace))
            for _ in range(3):  # at once, before any worker runs
                actors.deliver.send(key)
            f.worker("--threads", "4")
            wait_until(lambda: counts(smtp, [key]), timeout=30, what="the e-mail")
            actors.deliver.send(key)  # and once more after it went out
            wait_until(
                lambda: actors.deliver.broker.client.llen(f"{f.namespace}:notifications") == 0,
                what="the queue",
            )
            time.sleep(2)
            assert counts(smtp, [key]) == Counter({key: 1})
            assert sent_rows(settings, key) == 1
    finally:
        smtp.stop()
        configure(make_broker(None))


def test_worker_and_scheduler_touch_their_heartbeat_files(settings, redis_url, tmp_path):
    """compose.yaml's health checks read these files."""
    with fleet(settings, redis_url, free_port()) as f:
        worker_alive, scheduler_alive = tmp_path / "worker.alive", tmp_path / "scheduler.alive"
        f.worker("--heartbeat", str(worker_alive))
        f.scheduler_with("--heartbeat", str(scheduler_alive))
        wait_until(lambda: worker_alive.exists() and scheduler_alive.exists(), timeout=30, what="heartbeats")
        first = worker_alive.stat().st_mtime, scheduler_alive.stat().st_mtime
        wait_until(
            lambda: worker_alive.stat().st_mtime > first[0] and scheduler_alive.stat().st_mtime > first[1],
            timeout=15,
            what="heartbeats touched again",
        )
