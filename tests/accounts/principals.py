"""The principals of the authorization tests, built through the real commands.

    world = build_world(services, now)          # everyone below, visible in the read models
    async with page_client(settings, services) as client:
        await page_login(client, world.practitioner_x)   # password, then the TOTP code
    token = await api_login(client, world.patient_a)     # a bearer token with its second factor

Principals: patient A, patient B, the manager of A's child (another account:
the child's profile is managed by it, not by A), practitioner X, practitioner Y,
X's secretary (granted on X's agenda, working on it), anonymous (no login).
Everyone has an authenticator app (TOTP): practitioners and secretaries must,
and patients then read health data too. Objects each principal owns:
`profile_id`, `appointment_id` (with X for A and the child, with Y for B),
`practitioner_id`, `message_id` (the secretary's message to X).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pyotp

from consulta.application import Actor
from consulta.identity import TOTP_STEP, totp_step
from consulta.services import Services
from tests.factories import make_practitioner, unique_email

PASSWORD = "correct horse battery"
_used_steps: dict[str, int] = {}  # per secret, the last TOTP step a test used (codes are good once)


@dataclass
class Principal:
    name: str
    actor: Actor | None = None
    email: str | None = None
    password: str = PASSWORD
    totp_secret: str | None = None
    profile_id: UUID | None = None
    appointment_id: UUID | None = None
    practitioner_id: UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.actor is None


@dataclass
class World:
    patient_a: Principal
    patient_b: Principal
    child_manager: Principal  # manages A's child's profile (`child_profile_id`, `child_appointment_id`)
    practitioner_x: Principal
    practitioner_y: Principal
    secretary_x: Principal
    anonymous: Principal
    child_profile_id: UUID
    child_appointment_id: UUID
    message_id: UUID

    def all(self) -> list[Principal]:
        return [self.patient_a, self.patient_b, self.child_manager, self.practitioner_x,
                self.practitioner_y, self.secretary_x, self.anonymous]  # fmt: skip


def totp_code(secret: str) -> str:
    """A code not used yet by these tests: the next unused step among now-1, now, now+1 (waits if none)."""
    while True:
        current = totp_step(datetime.now().astimezone())
        step = max(_used_steps.get(secret, 0) + 1, current - 1)
        if step <= current + 1:
            _used_steps[secret] = step
            return str(pyotp.TOTP(secret).at(step * TOTP_STEP))
        time.sleep(TOTP_STEP - time.time() % TOTP_STEP + 0.05)


def with_totp(services: Services, account_id: UUID, now: datetime) -> str:
    app = services.app
    secret = app.new_totp_secret()
    app.enable_totp(account_id, secret, totp_code(secret), now)
    return secret


def _next_slot(services: Services, practitioner_id: UUID, now: datetime, skip: int = 0) -> datetime:
    card = services.reads.practitioner(practitioner_id)
    assert card is not None
    slots = services.reads.free_slots(card, "consult", now, now + timedelta(days=14), now, mode="practice")
    return slots[skip].starts_at


def patient(services: Services, now: datetime, name: str, first: str, last: str) -> Principal:
    email = unique_email(name.replace(" ", "-"))
    outcome = services.app.register_patient(email, PASSWORD, first, last, date(1984, 3, 9), now)
    account = services.app.get_account(outcome.id)
    actor = Actor(outcome.id, "patient")
    return Principal(name, actor, email, PASSWORD, with_totp(services, outcome.id, now), account.profile_id)


def practitioner(services: Services, now: datetime, name: str, display: str) -> Principal:
    practitioner_id, actor, _ = make_practitioner(services.app, now, name=display)
    email = services.app.get_account(actor.account_id).email
    secret = with_totp(services, actor.account_id, now)
    return Principal(name, actor, email, PASSWORD, secret, practitioner_id=practitioner_id)


def build_world(services: Services, now: datetime) -> World:
    """Every principal and the objects each owns, waited for in every read model."""
    app = services.app
    x = practitioner(services, now, "practitioner X", "Dr Xavier Morel")
    y = practitioner(services, now, "practitioner Y", "Dr Yvonne Petit")
    services.wait_for(app.recorder.max_notification_id() or 0)
    a = patient(services, now, "patient A", "Anne", "Aubert")
    b = patient(services, now, "patient B", "Bruno", "Blanc")
    manager = patient(services, now, "manager of A's child", "Marc", "Aubert")
    child = app.add_profile(manager.actor, "Chloé", "Aubert", date(2019, 6, 1), now)  # type: ignore[arg-type]
    a.appointment_id = app.book(
        a.actor,
        x.practitioner_id,
        "consult",
        "practice",  # type: ignore[arg-type]
        _next_slot(services, x.practitioner_id, now, 0),
        a.profile_id,
        now,
    ).id  # type: ignore[arg-type]
    child_appointment = app.book(
        manager.actor,
        x.practitioner_id,
        "consult",
        "practice",  # type: ignore[arg-type]
        _next_slot(services, x.practitioner_id, now, 3),
        child.id,
        now,
    ).id  # type: ignore[arg-type]
    b.appointment_id = app.book(
        b.actor,
        y.practitioner_id,
        "consult",
        "practice",  # type: ignore[arg-type]
        _next_slot(services, y.practitioner_id, now, 0),
        b.profile_id,
        now,
    ).id  # type: ignore[arg-type]
    sec_email = unique_email("secretary")
    secretary_id = app.add_secretary(sec_email, PASSWORD, now).id
    app.grant_secretary(x.actor, sec_email, now)  # type: ignore[arg-type]
    secretary = Principal(
        "X's secretary",
        Actor(secretary_id, "secretary", x.practitioner_id),
        sec_email,
        PASSWORD,
        with_totp(services, secretary_id, now),
        practitioner_id=x.practitioner_id,
    )
    message = app.leave_message(secretary.actor, x.practitioner_id, "Please call back about the test results.",  # type: ignore[arg-type]
                                None, now)  # fmt: skip
    assert services.wait_for(app.recorder.max_notification_id() or 0)
    return World(
        a, b, manager, x, y, secretary, Principal("anonymous"), child.id, child_appointment, message.id
    )


async def page_login(client: Any, principal: Principal) -> None:
    """Log a page client in as `principal` (password, then the TOTP code; a secretary then opens X's agenda)."""
    if principal.anonymous:
        return
    first = await post_form(client, "/login", {"email": principal.email, "password": principal.password})
    assert first.status_code == 303 and first.headers["location"] == "/login/second-factor", first.status_code
    second = await post_form(client, "/login/code", {"code": totp_code(principal.totp_secret)})  # type: ignore[arg-type]
    assert second.status_code == 303, second.status_code
    if principal.actor is not None and principal.actor.role == "secretary":
        chosen = await post_form(client, "/sec/agenda", {"practitioner_id": str(principal.practitioner_id)})
        assert chosen.status_code == 303, chosen.status_code


async def api_login(client: Any, principal: Principal) -> str | None:
    """A bearer token for `principal` (with its second factor), None for anonymous."""
    if principal.anonymous:
        return None
    response = await client.post(
        "/api/v1/auth/login",
        json={
            "email": principal.email,
            "password": principal.password,
            "code": totp_code(principal.totp_secret),
        },  # type: ignore[arg-type]
    )
    assert response.status_code == 200, response.status_code
    return str(response.json()["token"])


def csrf_token(client: Any) -> str:
    return str(client.cookies.get("__Host-csrftoken") or client.cookies.get("csrftoken"))


async def post_form(client: Any, url: str, data: dict[str, Any] | None = None) -> Any:
    return await client.post(
        url, data={**(data or {}), "_csrf_token": csrf_token(client)}, follow_redirects=False
    )
