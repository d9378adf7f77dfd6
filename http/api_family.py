"""API: the profiles an account manages (its own, children, a spouse, a parent)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import JSONBody

from consulta.application import Actor
from consulta.http.api_support import BEARER, authenticated, problems, require_json, services_of
from consulta.projections.account_views import AccountReads

Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class ProfileBody(msgspec.Struct, kw_only=True):
    first_name: Text100
    last_name: Text100
    birth_date: date


class ProfileOut(msgspec.Struct, kw_only=True):
    id: UUID
    first_name: str
    last_name: str
    birth_date: date
    own: bool


class ProfileList(msgspec.Struct, kw_only=True):
    items: list[ProfileOut]


def _patient(actor: Actor) -> Actor:
    if actor.role != "patient":
        raise NotFoundException("Not found.")
    return actor


def _profiles(request: Request[Any, Any, Any], actor: Actor) -> list[ProfileOut]:
    services = services_of(request)
    own = services.app.get_account(actor.account_id).profile_id
    rows = AccountReads(services.reads).family(actor.account_id)
    return [
        ProfileOut(
            id=r["id"],
            first_name=r["first_name"],
            last_name=r["last_name"],
            birth_date=r["birth_date"],
            own=r["id"] == own,
        )
        for r in rows
    ]


@get(
    "/profiles",
    guards=[authenticated],
    sync_to_thread=True,
    security=BEARER,
    summary="The profiles I manage",
    description="My own profile and those of the people I book for (patients only; others get 404).",
    responses=problems(401, 404),
)
def my_profiles(request: Request[Any, Any, Any], actor: NamedDependency[Actor]) -> ProfileList:
    return ProfileList(items=_profiles(request, _patient(actor)))


@post(
    "/profiles",
    guards=[authenticated, require_json],
    sync_to_thread=True,
    security=BEARER,
    summary="Add a person I book for",
    description="A child, a spouse, a parent: a profile this account manages. Bookings name it as `profile_id`.",
    responses=problems(400, 401, 404, 413, 415, 422),
)
def add_profile(
    request: Request[Any, Any, Any], data: JSONBody[ProfileBody], actor: NamedDependency[Actor]
) -> ProfileOut:
    services = services_of(request)
    outcome = services.app.add_profile(
        _patient(actor), data.first_name, data.last_name, data.birth_date, services.clock.now()
    )
    services.wait_for(outcome.position, ("profiles", "secretaries"))
    return next(p for p in _profiles(request, actor) if p.id == outcome.id)


FAMILY_HANDLERS = [my_profiles, add_profile]
