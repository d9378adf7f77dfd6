"""No personal data in logs, URLs or error answers: marker strings in names, e-mails and reasons never show up.

The suite's main scenarios run with every logger at DEBUG (the app's, Litestar's,
httpx's, psycopg's, eventsourcing's...): a patient registers, books, cancels with
a reason; the practitioner opens the agenda and the appointment and cancels
another with a reason; the same through the JSON API; then error paths (bad
input carrying the markers, foreign ids). Every log record (message, arguments,
exception text), every URL requested or redirected to, and every error answer
is searched for the markers.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest

from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import page_login, practitioner
from tests.security.helpers import client_for, head, post_form

SLOT = re.compile(r'name="slot" value="([^"]+)"')


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format still shows its parts
            text = f"{record.msg!r} {record.args!r}"
        self.texts.append(f"{record.name}: {text} {record.exc_text or ''} {record.__dict__}")


@pytest.fixture
def all_logs(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every record of every logger at every level, whatever handlers Litestar or others configure."""
    collector = Collector()
    handle = logging.Logger.handle

    def handle_and_collect(self: logging.Logger, record: logging.LogRecord) -> None:
        collector.emit(record)
        handle(self, record)

    monkeypatch.setattr(logging.Logger, "isEnabledFor", lambda self, level: True)
    monkeypatch.setattr(logging.Logger, "handle", handle_and_collect)
    return collector


async def test_markers_never_reach_logs_urls_or_error_answers(
    settings: Settings, services: Services, all_logs: Collector
) -> None:
    mark = {
        k: f"Zq{k}{secrets.token_hex(5)}"
        for k in ("first", "last", "mail", "reason", "proreason", "apifirst", "apireason", "bad")
    }
    doctor = practitioner(services, services.clock.now(), "practitioner", "Dr Logs Quiet")
    pid = doctor.practitioner_id
    seen_urls: list[str] = []
    answers: list[tuple[int, str, str]] = []

    async def record(response: Any) -> None:
        await response.aread()
        seen_urls.append(str(response.request.url))
        seen_urls.append(response.headers.get("location", ""))
        answers.append((response.status_code, response.headers.get("content-type", ""), response.text))

    async with client_for(settings, services) as patient:
        patient.event_hooks["response"].append(record)
        email = f"{mark['mail']}@example.org"
        registered = await post_form(patient, "/register", {
            "email": email, "password": "correct horse battery", "first_name": mark["first"],
            "last_name": mark["last"], "birth_date": "1990-02-03"})  # fmt: skip
        assert registered.status_code == 303
        start = (services.clock.now() + timedelta(days=3)).date().isoformat()  # before no cut-off
        page = await patient.get(f"/practitioners/{pid}/slots", params={"motif": "consult", "start": start})
        slots = SLOT.findall(page.text)
        assert len(slots) >= 2
        for chosen in slots[:2]:
            held = await post_form(
                patient,
                "/book/hold",
                {"practitioner_id": str(pid), "motif_id": "consult", "slot": chosen.replace("&#43;", "+")},
            )
            assert held.status_code == 303, held.status_code
            confirm = await patient.get("/book/confirm")
            profile_id = re.search(r'name="profile_id" value="([^"]+)"', confirm.text).group(1)  # type: ignore[union-attr]
            booked = await post_form(patient, "/book/confirmation", {"profile_id": profile_id})
            assert booked.status_code == 303, booked.status_code
        listing = await patient.get("/my/appointments")
        ids = re.findall(r"/my/appointments/([0-9a-f-]{36})/cancel", listing.text)
        assert len(ids) == 2, re.sub(r"\s+", " ", listing.text)[-2500:]
        cancelled = await post_form(patient, f"/my/appointments/{ids[0]}/cancel", {"reason": mark["reason"]})
        assert cancelled.status_code == 303
        await patient.get(f"/my/appointments/{ids[1]}/calendar.ics")
        await patient.get("/my/access")

        async with client_for(settings, services) as pro:
            pro.event_hooks["response"].append(record)
            await page_login(pro, doctor)
            week = await pro.get("/pro/agenda/week", params={"start": start})
            assert mark["last"] in week.text, (
                "the practitioner sees the patient's name (the markers are live)"
            )
            await pro.get("/pro/agenda", params={"day": start})
            assert mark["last"] in (await pro.get(f"/pro/appointments/{ids[1]}")).text
            moved = await post_form(pro, f"/pro/appointments/{ids[1]}/cancel", {"reason": mark["proreason"]})
            assert moved.status_code == 303, moved.status_code

        # The JSON API: register, log in, book, cancel with a reason; bad input carrying markers.
        api = patient
        body = {"email": f"{mark['apifirst']}@example.org", "password": "correct horse battery",
                "first_name": mark["apifirst"], "last_name": mark["last"], "birth_date": "1991-04-05"}  # fmt: skip
        assert (await api.post("/api/v1/auth/register", json=body)).status_code == 201
        token = (
            await api.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]})
        ).json()["token"]
        bearer = {"authorization": f"Bearer {token}"}
        slots_json = (
            await api.get(f"/api/v1/practitioners/{pid}/slots", params={"motif": "consult"})
        ).json()["slots"]
        booking = {
            "practitioner_id": str(pid),
            "motif_id": "consult",
            "starts_at": slots_json[-1]["starts_at"],
            "mode": slots_json[-1]["mode"],
        }
        made = await api.post("/api/v1/appointments", json=booking, headers=bearer)
        assert made.status_code == 201, made.text
        done = await api.post(
            f"/api/v1/appointments/{made.json()['id']}/cancel",
            json={"reason": mark["apireason"]},
            headers=bearer,
        )
        assert done.status_code == 200, done.text
        bad = {**body, "email": f"{mark['bad']}-not-an-address", "birth_date": mark["bad"]}
        assert (await api.post("/api/v1/auth/register", json=bad)).status_code in (400, 422)
        assert (
            await api.post("/api/v1/auth/login", json={"email": email, "password": mark["bad"] + "x" * 10})
        ).status_code == 401
        assert (
            await api.post("/api/v1/appointments", json={**booking, "motif_id": mark["bad"]}, headers=bearer)
        ).status_code >= 400
        await post_form(
            patient,
            "/register",
            {
                "email": email,
                "password": "x",
                "first_name": mark["bad"],
                "last_name": mark["bad"],
                "birth_date": mark["bad"],
            },
        )

    queued = _notification_payloads(settings, services, [*ids, made.json()["id"]])
    logs = "\n".join(all_logs.texts)
    assert len(all_logs.texts) > 20, "records were captured"
    names = {t.split(":")[0] for t in all_logs.texts}
    print(f"log records: {len(all_logs.texts)} from {sorted(names)}")
    assert {"httpx", "consulta.audit"} & names and len(names) >= 3, names
    for name, value in mark.items():
        assert value not in logs, f"the {name} marker is in a log record"
        assert not any(value in url for url in seen_urls), f"the {name} marker is in a URL"
        assert not any(
            value in text
            for status, kind, text in answers
            if status >= 400 and not kind.startswith("text/html")
        ), f"the {name} marker is in an API error answer"
        assert not any(value in text for status, kind, text in answers if status in (403, 404, 500)), (
            f"the {name} marker is in an error page"
        )
        assert value not in queued, f"the {name} marker is in a notification row or task message"


def _notification_payloads(settings: Settings, services: Services, appointment_ids: list[str]) -> str:
    """The notification rows of these appointments, whole, and the dramatiq messages the scheduler sends for them."""
    import dramatiq
    import psycopg
    from psycopg import sql

    from consulta.workers.broker import QUEUE, configure, make_broker

    assert services.wait_for(head(services), ("notifications",))
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT d::text, d.key FROM {}.notification_due d WHERE d.appointment_id::text = ANY(%s)"
            ).format(sql.Identifier(settings.read_schema)),
            (appointment_ids,),
        ).fetchall()
    assert rows, "the bookings and cancellations were given notifications"
    previous = dramatiq.get_broker()
    stub = make_broker(None)
    actors = configure(stub)
    try:
        for _, key in rows:
            actors.deliver.send(key)  # what Scheduler.claim_once enqueues for a claimed row
        sent = [raw.decode("utf-8", "replace") for raw in stub.queues[QUEUE].queue]  # encoded messages
    finally:
        configure(previous)
    assert len(sent) == len(rows) and all(key in text for (_, key), text in zip(rows, sent, strict=True))
    return "\n".join([text for text, _ in rows] + sent)
