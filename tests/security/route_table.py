"""The application's route table, read from the app itself, and who may use each route that takes an id.

A route that takes an id must be listed in RELATIONS (the relations that
grant it) or PUBLIC, or be one of the non-id parameters below; otherwise the
matrix test fails and names it, so no new route escapes the matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

# Parameters that are not object ids: a capability token (whoever holds it), a static file, a schema page.
NOT_IDS = {"token", "file_path", "path"}

# path format -> relations that let a principal use it (per method when they differ).
RELATIONS: dict[str, dict[str, set[str]]] = {
    "/my/appointments/{appointment_id}/booked": {"GET": {"manager"}},
    "/my/appointments/{appointment_id}/calendar.ics": {"GET": {"manager"}},
    "/my/appointments/{appointment_id}/cancel": {"POST": {"manager"}},
    "/my/appointments/{appointment_id}/reschedule": {"GET": {"manager"}},
    "/my/appointments/{appointment_id}/new-time": {"POST": {"manager"}},
    "/api/v1/appointments/{appointment_id}": {"GET": {"manager"}},
    "/api/v1/appointments/{appointment_id}/cancel": {"POST": {"manager", "staff"}},
    "/api/v1/appointments/{appointment_id}/reschedule": {"POST": {"manager", "staff"}},
    "/api/v1/practitioners/{practitioner_id}/agenda": {"GET": {"staff"}},
}
# By prefix, for routes the table above does not name: the patient's own space and family, the
# agenda's staff (practitioner and granted secretaries), the secretaries' own pages.
PREFIX_RELATIONS = [
    ("/my/", {"manager"}),
    ("/family/", {"manager"}),
    ("/pro/", {"staff"}),
    ("/sec/", {"secretary"}),
]
PUBLIC = {
    "/practitioners/{practitioner_id}",
    "/practitioners/{practitioner_id}/slots",
    "/api/v1/practitioners/{practitioner_id}",
    "/api/v1/practitioners/{practitioner_id}/slots",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the path format: /my/appointments/{appointment_id}/booked
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def url(self, **values: Any) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), self.path)


def routes(app: Litestar) -> list[Route]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            found.append(Route(method, route.path_format, tuple(route.path_parameters)))
    return found


def id_routes(app: Litestar) -> list[Route]:
    return [r for r in routes(app) if any(p not in NOT_IDS for p in r.params)]


def relations_of(route: Route) -> set[str] | None:
    """The relations that grant the route; None for a public one. KeyError: an unclassified route."""
    if route.path in PUBLIC:
        return None
    if route.path in RELATIONS and route.method in RELATIONS[route.path]:
        return RELATIONS[route.path][route.method]
    for prefix, relations in PREFIX_RELATIONS:
        if route.path.startswith(prefix):
            return relations
    raise KeyError(f"{route.method} {route.path}: say who may use it in tests/security/route_table.py")
