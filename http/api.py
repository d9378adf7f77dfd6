"""The JSON API under /api/v1, and its OpenAPI description (served at /schema/openapi.json)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme, Tag

from consulta.http.api_accounts import ACCOUNT_HANDLERS
from consulta.http.api_agenda import AGENDA_HANDLERS
from consulta.http.api_appointments import APPOINTMENT_HANDLERS
from consulta.http.api_directory import DIRECTORY_HANDLERS
from consulta.http.api_family import FAMILY_HANDLERS
from consulta.http.api_support import current_actor

API_PREFIX = "/api/v1"


def api_handlers() -> list[Any]:
    """The routers to register in the application (see routes.py)."""
    return [
        Router(
            path=API_PREFIX,
            route_handlers=[
                Router(path="/", route_handlers=ACCOUNT_HANDLERS, tags=["accounts"]),
                Router(path="/", route_handlers=DIRECTORY_HANDLERS, tags=["directory"]),
                Router(path="/", route_handlers=APPOINTMENT_HANDLERS, tags=["appointments"]),
                Router(path="/", route_handlers=FAMILY_HANDLERS, tags=["family"]),
                Router(path="/", route_handlers=AGENDA_HANDLERS, tags=["agenda"]),
            ],
            dependencies={"actor": Provide(current_actor, sync_to_thread=False)},
        )
    ]


def api_openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Consulta API",
        version="1.0.0",
        path="/schema",
        description=(
            "Find practitioners, list free slots and book them. Times are ISO 8601 with their UTC offset;"
            " errors are application/problem+json (RFC 9457)."
        ),
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", description="POST /api/v1/auth/login")
            }
        ),
        tags=[
            Tag(name="accounts", description="Register and log in"),
            Tag(name="directory", description="Practitioners and their free slots"),
            Tag(name="appointments", description="Book, list, cancel and reschedule"),
            Tag(name="family", description="The profiles an account manages and books for"),
            Tag(
                name="agenda",
                description="A practitioner's agenda, for the practitioner and their secretaries",
            ),
        ],
    )
