"""A teleconsultation now, for one of the practitioner's known patients (the ad-hoc page).

The practitioner searches their patients by name (the secretaries' search:
`AccountReads.find_patients`, among the agenda's patients), keeps only those
they have already seen (a `KnownPatient`: the command's own rule), and opens
one with `POST /pro/tele/open` (pages_tele_pro), which shows the code and
link once. Refusals render this page again with the reason; nothing is
recorded.
"""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery
from litestar.response import Template

from consulta.application import Actor
from consulta.http.pages_common import AnyRequest, page, services_of, staff_of, translate
from consulta.http.second_factor import STAFF, require_second_factor
from consulta.projections.account_views import AccountReads

UNKNOWN_PATIENT = (
    "This person is not among your known patients (seen at least once): open a consultation from their"
    " video appointment instead."
)
MALFORMED = "Choose a patient from the search results."


def practitioner_of(request: AnyRequest) -> Actor:
    """Only a practitioner opens consultations (a secretary sees the waiting room, not this page)."""
    actor = staff_of(request)
    if actor.role != "practitioner":
        raise NotFoundException("page not found")
    return actor


def known_patients(request: AnyRequest, actor: Actor, name: str) -> list[dict[str, Any]]:
    services = services_of(request)
    assert actor.practitioner_id is not None
    found = AccountReads(services.reads).find_patients(actor.practitioner_id, name) if name else []
    return [p for p in found if services.app.is_known_patient(actor.practitioner_id, p["id"])]


def new_page(request: AnyRequest, name: str = "", status: int = 200, error: str | None = None) -> Template:
    actor = practitioner_of(request)
    name = " ".join(name.split())[:100]
    found = known_patients(request, actor, name)
    return page(
        "pro_tele_new.html.j2",
        status,
        name=name,
        found=found,
        searched=bool(name),
        error=translate(request, error) if error else None,
    )


@get("/pro/tele/new", sync_to_thread=True, name="pro_tele_new", guards=[require_second_factor], opt=STAFF)
def choose_patient(request: AnyRequest, name: FromQuery[str] = "") -> Template:
    return new_page(request, name)


HANDLERS: list[Any] = [choose_patient]
