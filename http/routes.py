"""Every route handler of the web process, gathered from the page and API modules."""

from __future__ import annotations

from typing import Any


def route_handlers() -> list[Any]:
    handlers: list[Any] = []
    from consulta.http.pages_all import PAGE_HANDLERS

    handlers += PAGE_HANDLERS
    from consulta.http.audit_pages import HANDLERS as AUDIT_PAGES  # "who saw my file"

    handlers += AUDIT_PAGES
    from consulta.http.pages_inbox import HANDLERS as DEV_INBOX  # dev and test only (404 elsewhere)

    handlers += DEV_INBOX
    from consulta.http import pages_notify_patient, pages_notify_pro  # notification settings

    handlers += pages_notify_patient.HANDLERS + pages_notify_pro.HANDLERS
    from consulta.http import pages_tele_new, tele_stream  # tele: the ad-hoc page, the live events

    handlers += pages_tele_new.HANDLERS + tele_stream.HANDLERS
    for page in handlers:  # HTML pages are not part of the JSON API's description (/schema/openapi.json)
        page.include_in_schema = False
    from consulta.http.api import api_handlers

    handlers += api_handlers()
    return handlers
