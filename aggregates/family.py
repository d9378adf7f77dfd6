"""Rules for families and practitioner details: what a phone, an RPPS number, a hand-over must be.

A profile belongs to the account that manages it (`Profile.manager_id`): a
parent for a child, one spouse for the other, or nobody yet (a profile a
secretary created on the phone). It is handed over, or claimed, through a
one-time invitation (aggregates/identity.py); `Profile.change_manager` checks
that it has not changed hands since the invitation was sent.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .account import normalise_email
from .errors import InvalidInputError

HANDOVER_AGE = 15
LANGUAGE_CODES = re.compile(r"^[a-z]{2}$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


def checked_phone(phone: str) -> str:
    """Digits with an optional leading `+`; spaces, dots and dashes are dropped. Empty is allowed."""
    compact = re.sub(r"[\s.\-()]", "", phone or "")
    if compact and not _PHONE.match(compact):
        raise InvalidInputError("a phone number has 6 to 15 digits")
    return compact


def checked_email(email: str) -> str:
    return normalise_email(email) if (email or "").strip() else ""


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check_handover_age(birth_date: date, today: date) -> None:
    if age_on(birth_date, today) < HANDOVER_AGE:
        raise InvalidInputError(f"a profile is handed over from the age of {HANDOVER_AGE}")


def checked_rpps(rpps: str) -> str:
    rpps = rpps.strip().replace(" ", "")
    if rpps and not (rpps.isdigit() and len(rpps) == 11):
        raise InvalidInputError("an RPPS number has 11 digits")
    return rpps


def _text(details: dict[str, Any], key: str, what: str, limit: int, required: bool = True) -> str:
    value = " ".join(str(details.get(key) or "").split())
    if (required and not value) or len(value) > limit:
        raise InvalidInputError(f"{what} is required (at most {limit} characters)")
    return value


def checked_practitioner_details(details: dict[str, Any]) -> dict[str, Any]:
    languages = [str(x).strip().lower() for x in details.get("languages") or [] if str(x).strip()]
    if len(languages) > 10 or not all(LANGUAGE_CODES.match(x) for x in languages):
        raise InvalidInputError("languages are two-letter codes (fr, en, ...)")
    return {
        "name": _text(details, "name", "name", 120),
        "specialty": _text(details, "specialty", "specialty", 120),
        "city": _text(details, "city", "city", 120),
        "address": _text(details, "address", "address", 300, required=False),
        "rpps": checked_rpps(str(details.get("rpps") or "")),
        "languages": sorted(set(languages)),
        "video_offered": bool(details.get("video_offered")),
    }
