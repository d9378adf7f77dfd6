"""The appointments' messages: confirmations, move and cancellation notices, reminders and alerts.

`Batch` reads what a batch of due rows needs (the appointments, the patients, the
practitioners' accounts) in a few statements for the whole batch; `compose` decides, for
one due row, whether its message still makes sense and, if so, renders it. Called from
`consulta.workers.outbox.Deliverer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from .messages import item, render

OWN_READS = ("daily_summary", "tele_invitation")  # kinds that read what they need themselves, at send time

_APPOINTMENTS = (
    "SELECT a.id, a.practitioner_id, a.profile_id, a.starts_at, a.ends_at, a.mode, a.status, a.version, a.day,"
    " p.name AS practice, p.address, p.timezone, p.account_id AS practitioner_account,"
    " coalesce(m.name, a.motif_id) AS motif"
    " FROM {s}.notify_appointments a JOIN {s}.notify_practitioners p ON p.id = a.practitioner_id"
    " LEFT JOIN {s}.notify_motifs m ON m.practitioner_id = a.practitioner_id AND m.motif_id = a.motif_id"
)
_BY_ID = _APPOINTMENTS + " WHERE a.id = ANY(%s)"
# A reminder covers the patient's appointments still booked that day (one message for several).
_BY_DAY = (
    _APPOINTMENTS + " JOIN unnest(%s::uuid[], %s::date[]) AS w(profile_id, day)"
    " ON a.profile_id = w.profile_id AND a.day = w.day WHERE a.status = 'booked' ORDER BY a.starts_at"
)
_PATIENTS = (
    "SELECT f.id, f.first_name, f.last_name, coalesce(nullif(f.email, ''), acc.email) AS email, f.phone,"
    " coalesce(pref.language, acc.language, 'fr') AS language, coalesce(pref.email, true) AS email_on,"
    " coalesce(pref.sms, true) AS sms_on, pref.timezone AS zone"
    " FROM {s}.notify_profiles f LEFT JOIN {s}.notify_accounts acc ON acc.id = f.manager_id"
    " LEFT JOIN {s}.notify_preferences pref ON pref.account_id = f.manager_id WHERE f.id = ANY(%s)"
)
_STAFF = (
    "SELECT acc.id, acc.email, '' AS phone, coalesce(acc.language, 'fr') AS language, true AS email_on,"
    " false AS sms_on FROM {s}.notify_accounts acc WHERE acc.id = ANY(%s)"
)


class Batch:
    """What a batch of due rows needs from the read model, read in a few statements for all of them."""

    def __init__(
        self, q: Callable[[str], sql.Composed], cur: psycopg.Cursor[Any], dues: Sequence[dict[str, Any]]
    ) -> None:
        ours = [d for d in dues if d["kind"] not in OWN_READS]
        ids = list({d["appointment_id"] for d in ours if d["kind"] != "reminder" and d["appointment_id"]})
        days = list({(d["profile_id"], d["day"]) for d in ours if d["kind"] == "reminder" and d["day"]})
        self.by_id: dict[Any, dict[str, Any]] = {}
        self.by_day: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        if ids:
            cur.execute(q(_BY_ID), (ids,))
            self.by_id = {r["id"]: r for r in cur.fetchall()}
        if days:
            cur.execute(q(_BY_DAY), ([p for p, _ in days], [d for _, d in days]))
            for r in cur.fetchall():
                self.by_day.setdefault((r["profile_id"], r["day"]), []).append(r)
        firsts = [*self.by_id.values(), *(rows[0] for rows in self.by_day.values())]
        self.patients: dict[Any, dict[str, Any]] = {}
        self.staff: dict[Any, dict[str, Any]] = {}
        if firsts:
            cur.execute(q(_PATIENTS), (list({a["profile_id"] for a in firsts}),))
            self.patients = {r["id"]: r for r in cur.fetchall()}
        accounts = (
            {a["practitioner_account"] for a in firsts}
            if any(d["kind"].startswith("alert_") for d in ours)
            else set()
        )
        if accounts:
            cur.execute(q(_STAFF), (list(accounts),))
            self.staff = {r["id"]: r for r in cur.fetchall()}

    def appointments(self, due: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
        if due["kind"] == "reminder":
            rows = self.by_day.get((due["profile_id"], due["day"]), [])
            return [r for r in rows if r["starts_at"] > now]
        found = self.by_id.get(due["appointment_id"])
        return [found] if found is not None else []


def compose(
    batch: Batch, due: dict[str, Any], now: datetime, base_url: str, sms_gateway: bool
) -> tuple[str, Any]:
    """(reason, None) to skip, or ("", (address, rendered, zone, channel, items)) to send."""
    kind, channel = due["kind"], due["channel"]
    rows = batch.appointments(due, now)
    if not rows:
        return "no appointment still to come", None
    first = rows[0]
    if first["starts_at"] <= now:
        return "appointment past", None
    if kind in ("confirmation", "moved", "alert_confirmation", "alert_moved") and first["status"] != "booked":
        return "appointment closed", None
    if kind in ("moved", "alert_moved") and due["key"].rsplit(":", 1)[1] != str(first["version"]):
        return "moved again since", None
    if kind in ("cancelled", "alert_cancelled") and first["status"] != "cancelled":
        return "not cancelled", None
    patient_row = batch.patients.get(first["profile_id"])
    person = batch.staff.get(first["practitioner_account"]) if kind.startswith("alert_") else patient_row
    if person is None:
        return "no recipient", None
    address = person["phone"] if channel == "sms" else person["email"]
    if not address:
        return f"no {channel} address", None
    if not person[f"{channel}_on"]:
        return f"{channel} turned off by the patient", None
    if channel == "sms" and not sms_gateway:
        return "no SMS gateway", None
    items = [item(r, base_url) for r in rows]
    if not kind.startswith("alert_"):
        for i in items:
            i["patient_zone"] = person.get("zone")  # the patient's own zone, if chosen: times shown in it too
    name = f"{person.get('first_name', '')} {person.get('last_name', '')}".strip()
    patient = name
    if kind.startswith("alert_"):
        patient = f"{patient_row['first_name']} {patient_row['last_name']}" if patient_row else ""
    rendered = render(
        kind,
        person["language"],
        {"a": items[0], "items": items, "name": name, "patient": patient},
        channel,
    )
    return "", (address, rendered, person.get("zone") or first["timezone"], channel, items)
