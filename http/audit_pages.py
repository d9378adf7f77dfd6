"""The patient's "who saw my file" page: reads of and refusals on the profiles the account manages."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.response import Redirect, Template

from consulta.http.pages_common import AnyRequest, login_url, page, patient_of, services_of
from consulta.projections import audit_log

WHAT = {
    "appointment": "an appointment",
    "profile": "the profile",
    "document": "a document",
    "report": "a report",
    "message": "a message",
    "agenda": "an appointment",
}


def _who(services: Any, row: dict[str, Any], me: Any, names: dict[Any, str]) -> tuple[str, str]:
    """(role, name): practitioners by their public name; other accounts are never named."""
    if row["actor_account"] == me:
        return "you", ""
    practitioner = row["actor_practitioner"]
    if practitioner is not None and row["actor_role"] in ("practitioner", "secretary"):
        if practitioner not in names:
            card = services.reads.practitioner(practitioner)
            names[practitioner] = card.name if card else ""
        return row["actor_role"], names[practitioner]
    return row["actor_role"], ""


@get("/my/access", sync_to_thread=True, name="my_access")
def my_access(request: AnyRequest) -> Template | Redirect:
    actor = patient_of(request)
    if actor is None:
        return see_login()
    services = services_of(request)
    profiles = [p["id"] for p in services.reads.profiles_of_account(actor.account_id)]
    with services.reads.pool.connection() as conn:
        rows = audit_log.accesses_to(conn, profiles)
    names: dict[Any, str] = {}
    entries = []
    for row in rows:
        role, name = _who(services, row, actor.account_id, names)
        entries.append(
            {**row, "role": role, "name": name, "what": WHAT.get(row["object_kind"], row["object_kind"])}
        )
    return page("my_access.html.j2", entries=entries)


def see_login() -> Redirect:
    return Redirect(login_url("/my/access"), status_code=303)


HANDLERS = [my_access]
