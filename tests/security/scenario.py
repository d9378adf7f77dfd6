"""The seeded world of the route-table tests, built on tests/accounts/principals.py.

Principals: patient A, patient B, the manager of A's child, practitioner X,
practitioner Y, X's secretary, anonymous; each logged in through the real
pages (password, then TOTP) and the API (a bearer token). Objects: profiles,
appointments, blocks, the secretary's message, practitioners; each records
which principals stand in which relation to it ("manager": manages the
patient's profile; "staff": works on the agenda it belongs to).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar.testing import AsyncTestClient

from consulta.http.app import create_app
from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import Principal, World, api_login, build_world, page_login

TOKENS: list[str] = []  # filled by _things: real tokens the crawl puts in capability URLs


@dataclass
class Thing:
    kind: (
        str  # the path parameter it fills: appointment_id, profile_id, block_id, message_id, practitioner_id
    )
    id: UUID
    relations: dict[str, set[str]] = field(default_factory=dict)  # relation -> principal names
    label: str = ""


@dataclass
class Seeded:
    world: World
    things: list[Thing]
    clients: dict[str, AsyncTestClient[Any]]  # principal name -> a page client logged in, bearer header set
    free_slot: dict[str, str]  # a slot of X that is free: motif_id, mode, starts_at
    world_services: Services
    partial: set[str] = field(default_factory=set)  # principals whose login could not finish (pages missing)
    tokens: list[str] = field(default_factory=list)  # real capability tokens: invitation link, password reset

    @property
    def principals(self) -> list[Principal]:
        return self.world.all()

    def of_kind(self, kind: str) -> list[Thing]:
        return [t for t in self.things if t.kind == kind]

    @staticmethod
    def missing(kind: str) -> Thing:
        return Thing(kind, uuid4(), {}, "missing")


def _things(services: Services, w: World) -> list[Thing]:
    x, y, sec = w.practitioner_x, w.practitioner_y, w.secretary_x
    x_staff = {x.name, sec.name}
    at_x = {"secretary": {sec.name}}  # X's patients, as X's secretary finds them
    app, now = services.app, services.clock.now()
    things = [
        Thing("practitioner_id", x.practitioner_id, {"staff": x_staff}, "X"),  # type: ignore[arg-type]
        Thing("practitioner_id", y.practitioner_id, {"staff": {y.name}}, "Y"),  # type: ignore[arg-type]
        Thing(
            "appointment_id",
            w.patient_a.appointment_id,
            {"manager": {w.patient_a.name}, "staff": x_staff},
            "A's",
        ),  # type: ignore[arg-type]
        Thing(
            "appointment_id",
            w.child_appointment_id,
            {"manager": {w.child_manager.name}, "staff": x_staff},
            "child's",
        ),
        Thing(
            "appointment_id",
            w.patient_b.appointment_id,
            {"manager": {w.patient_b.name}, "staff": {y.name}},
            "B's",
        ),  # type: ignore[arg-type]
        Thing(
            "profile_id",
            w.patient_a.profile_id,
            {"manager": {w.patient_a.name}, "staff": x_staff, **at_x},
            "A",
        ),  # type: ignore[arg-type]
        Thing(
            "profile_id",
            w.child_profile_id,
            {"manager": {w.child_manager.name}, "staff": x_staff, **at_x},
            "child",
        ),
        Thing("profile_id", w.patient_b.profile_id, {"manager": {w.patient_b.name}, "staff": {y.name}}, "B"),  # type: ignore[arg-type]
        Thing("profile_id", w.child_manager.profile_id, {"manager": {w.child_manager.name}}, "manager"),  # type: ignore[arg-type]
        Thing("message_id", w.message_id, {"staff": x_staff}, "message to X"),
    ]
    # X's secretary (their account id names the grant X may revoke) and a teleconsultation of X with A.
    things.append(Thing("secretary_id", sec.actor.account_id, {"staff": {x.name}}, "X's secretary"))  # type: ignore[union-attr]
    card = services.reads.practitioner(x.practitioner_id)  # type: ignore[arg-type]
    assert card is not None
    video = services.reads.free_slots(
        card, "consult", now + timedelta(days=4), now + timedelta(days=14), now, mode="video"
    )[0]
    booked = app.book(
        w.patient_a.actor, x.practitioner_id, "consult", "video", video.starts_at, w.patient_a.profile_id, now
    )  # type: ignore[arg-type]
    invitation = app.open_consultation(x.actor, now, appointment_id=booked.id)  # type: ignore[arg-type]
    assert services.wait_for(invitation.position)
    things.append(
        Thing("consultation_id", invitation.consultation_id, {"staff": {x.name}}, "X's teleconsultation")
    )
    TOKENS.append(invitation.link_token)
    reset = app.request_password_reset(w.patient_b.email, now)  # type: ignore[arg-type]
    assert reset is not None
    TOKENS.append(reset[0])
    for who, staff in ((x, x_staff), (y, {y.name})):
        card = services.reads.practitioner(who.practitioner_id)  # type: ignore[arg-type]
        assert card is not None
        start = now + timedelta(days=25)
        slot = services.reads.free_slots(card, "consult", start, start + timedelta(days=10), now)[0]
        outcome = app.block_period(
            who.actor, who.practitioner_id, slot.starts_at, slot.starts_at + timedelta(hours=1), now
        )  # type: ignore[arg-type]
        assert services.wait_for(outcome.position)
        things.append(Thing("block_id", outcome.id, {"staff": staff}, f"{who.name}'s block"))
    return things


def _free_slot(services: Services, w: World) -> dict[str, str]:
    now = services.clock.now()
    card = services.reads.practitioner(w.practitioner_x.practitioner_id)  # type: ignore[arg-type]
    assert card is not None
    start = now + timedelta(days=5)
    slot = services.reads.free_slots(card, "consult", start, start + timedelta(days=10), now)[0]
    return {"motif_id": "consult", "mode": slot.mode, "starts_at": slot.starts_at.isoformat()}


@contextlib.asynccontextmanager
async def seeded(settings: Settings, services: Services) -> Any:
    """The world, one logged-in client per principal (many logins from one address: a generous cap)."""
    relaxed = dataclasses.replace(settings, login_rate_per_minute=10_000)
    world = build_world(services, services.clock.now())
    things = _things(services, world)
    app = create_app(relaxed, services)
    clients: dict[str, AsyncTestClient[Any]] = {}
    partial: set[str] = set()
    async with contextlib.AsyncExitStack() as stack:
        for principal in world.all():
            client = await stack.enter_async_context(AsyncTestClient(app, base_url="http://127.0.0.1"))
            await client.get("/")
            try:
                await page_login(client, principal)
            except AssertionError:
                # Until the secretary pages exist, a secretary stops after the code (still logged in).
                if principal.actor is None or principal.actor.role != "secretary":
                    raise
                partial.add(principal.name)
            token = await api_login(client, principal)
            if token:
                client.headers["authorization"] = f"Bearer {token}"
            clients[principal.name] = client
        yield Seeded(world, things, clients, _free_slot(services, world), services, partial, list(TOKENS))
