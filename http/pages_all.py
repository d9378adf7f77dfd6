"""Every HTML page handler, by audience: public, accounts, booking, patient, practitioner."""

from __future__ import annotations

from typing import Any

from consulta.http import (
    pages_account,
    pages_booking,
    pages_family,
    pages_identity,
    pages_identity_account,
    pages_identity_pro,
    pages_patient,
    pages_pro,
    pages_pro_manage,
    pages_public,
    pages_secretary,
    pages_secretary_pro,
    pages_tele,
    pages_tele_pro,
)

PAGE_HANDLERS: list[Any] = [
    *pages_public.HANDLERS,
    *pages_account.HANDLERS,
    *pages_identity.HANDLERS,
    *pages_identity_account.HANDLERS,
    *pages_identity_pro.HANDLERS,
    *pages_family.HANDLERS,
    *pages_secretary.HANDLERS,
    *pages_secretary_pro.HANDLERS,
    *pages_booking.HANDLERS,
    *pages_patient.HANDLERS,
    *pages_pro.HANDLERS,
    *pages_pro_manage.HANDLERS,
    *pages_tele.HANDLERS,
    *pages_tele_pro.HANDLERS,
]
