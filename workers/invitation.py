"""Composing a teleconsultation invitation ("tele_invitation" due rows), called from `Deliverer._compose`.

The link token and the access code come out of the sealed blob that
`Consultation.Invited` carried (consulta.invitation_seal), opened here with
the worker's key (`CONSULTA_SECRET_KEY`, the web's) or an earlier one
(`CONSULTA_PREVIOUS_SECRET_KEYS`). Skipped ("expired"), and
the read model's sealed copy erased, once the consultation has ended or the
code's validity (the consultation's end) has passed. An SMS due in the quiet
hours (in the patient's zone if chosen, else the practice's) is postponed by
`deliver` like any other, unless the consultation starts before they end: then
it is skipped (the e-mail and the code on the practitioner's page remain). A blob this worker cannot open is a permanent
failure of the send (a dead letter, listed by `consulta notifications failed`),
never a crash loop: `Unopenable` raises the channel's permanent error when
`deliver` reads the text to send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import psycopg

from consulta.invitation_seal import SealError, open_sealed, worker_keys
from consulta.projections.notification_policy import quiet_until

from .email import PermanentEmailError
from .messages import render
from .sms import PermanentSmsError

_CONSULTATION = (
    "SELECT c.id, c.status, c.starts_at, c.ends_at, c.invited_version, c.sealed,"
    " p.name AS practice, p.address, p.timezone, f.first_name, f.last_name, f.phone, acc.email,"
    " coalesce(pref.language, acc.language, 'fr') AS language, coalesce(pref.email, true) AS email_on,"
    " coalesce(pref.sms, true) AS sms_on, coalesce(pref.timezone, p.timezone) AS quiet_zone"
    " FROM {s}.notify_consultations c JOIN {s}.notify_practitioners p ON p.id = c.practitioner_id"
    " LEFT JOIN {s}.notify_profiles f ON f.id = c.profile_id"
    " LEFT JOIN {s}.notify_accounts acc ON acc.id = f.manager_id"
    " LEFT JOIN {s}.notify_preferences pref ON pref.account_id = f.manager_id WHERE c.id = %s"
)
# This one and every other consultation whose code's validity has passed keep no sealed copy.
_ERASE = (
    "UPDATE {s}.notify_consultations SET sealed = NULL WHERE sealed IS NOT NULL AND (id = %s OR ends_at < %s)"
)


class Unopenable:
    """Stands for the text of an invitation whose seal this worker cannot open: reading it fails for good."""

    def __init__(self, error: str) -> None:
        self.error = error

    @property
    def subject(self) -> str:
        raise PermanentEmailError(self.error)

    @property
    def text(self) -> str:
        raise PermanentEmailError(self.error)

    @property
    def sms(self) -> str:
        raise PermanentSmsError(self.error)


def compose_invitation(
    deliverer: Any, cur: psycopg.Cursor[Any], due: dict[str, Any], now: datetime
) -> tuple[str, Any]:
    """(reason, None) to skip, or ("", (address, rendered, zone, channel, items)) as `_compose` returns."""
    _, channel, consultation_id, version = due["key"].split(":")
    cur.execute(deliverer.q(_CONSULTATION), (UUID(consultation_id),))
    c = cur.fetchone()
    if c is None:
        return "no consultation", None
    if c["status"] == "ended" or now > c["ends_at"] or not c["sealed"]:
        cur.execute(deliverer.q(_ERASE), (c["id"], now))
        return "expired", None
    if str(c["invited_version"]) != version:
        return "invited again since", None
    address = c["phone"] if channel == "sms" else c["email"]
    if not address:
        return f"no {channel} address", None
    if not c[f"{channel}_on"]:
        return f"{channel} turned off by the patient", None
    if channel == "sms":
        if deliverer.sms is None:
            return "no SMS gateway", None
        quiet_end = quiet_until(now, c["quiet_zone"])
        if quiet_end is not None and c["starts_at"] <= quiet_end:
            return "quiet hours until after the start", None
    cur.execute(deliverer.q(_ERASE), (None, now))  # the others whose validity has passed
    try:
        secret, previous = worker_keys()
        code, token = open_sealed(secret, c["id"], c["sealed"], previous)
    except SealError as error:
        return "", (address, Unopenable(str(error)), c["quiet_zone"], channel, [])
    a = {
        "practice": c["practice"],
        "address": c["address"],
        "mode": "video",
        "zone": c["timezone"],
        "local_start": c["starts_at"].astimezone(ZoneInfo(c["timezone"])),
        "patient_zone": c["quiet_zone"],  # the patient's zone if chosen, else the practice's
    }
    context = {
        "a": a,
        "items": [a],
        "name": f"{c['first_name'] or ''} {c['last_name'] or ''}".strip(),
        "code": code,
        "link": f"{deliverer.base_url}/tele/invite/{token}" if channel == "email" else "",
        "join_url": f"{deliverer.base_url}/join",
    }
    rendered = render("tele_invitation", c["language"], context)
    return "", (address, rendered, c["quiet_zone"], channel, [a])  # quiet hours: the patient's zone if chosen
