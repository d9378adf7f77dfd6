"""Composing a practitioner's daily agenda summary, read when it is sent.

The due row names only the practitioner and the local day; everything else is
read now, in the deliverer's transaction: whether the practitioner still wants
the summary (turning it off stops the rows not yet sent), and the day's
appointments as they stand (booked or moved since are in, cancelled ones out).
Nothing is sent for a day without appointments, nor once the day is over (a
worker back after an outage, or the rows a rebuild writes again).

The e-mail goes to the practitioner's account address, in the account's
language, and lists what their agenda already shows: time, patient, motif,
practice or video.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from consulta.projections.daily_summary import TURNED_OFF

from .messages import day_label, item, render

_SETTINGS = (
    "SELECT s.enabled, p.name, p.timezone, acc.email, coalesce(acc.language, 'fr') AS language"
    " FROM {s}.notify_daily_summaries s JOIN {s}.notify_practitioners p ON p.id = s.practitioner_id"
    " LEFT JOIN {s}.notify_accounts acc ON acc.id = p.account_id WHERE s.practitioner_id = %s"
)
_DAY = (
    "SELECT a.id, a.practitioner_id, a.starts_at, a.ends_at, a.mode, p.name AS practice, p.address, p.timezone,"
    " coalesce(m.name, a.motif_id) AS motif, coalesce(f.first_name || ' ' || f.last_name, '') AS patient"
    " FROM {s}.notify_appointments a JOIN {s}.notify_practitioners p ON p.id = a.practitioner_id"
    " LEFT JOIN {s}.notify_motifs m ON m.practitioner_id = a.practitioner_id AND m.motif_id = a.motif_id"
    " LEFT JOIN {s}.notify_profiles f ON f.id = a.profile_id"
    " WHERE a.practitioner_id = %s AND a.day = %s AND a.status <> 'cancelled' ORDER BY a.starts_at, a.id"
)


def compose_summary(
    cur: psycopg.Cursor[Any],
    q: Callable[[str], sql.Composed],
    due: dict[str, Any],
    now: datetime,
    base_url: str,
) -> tuple[str, Any]:
    """(reason, None) to skip, or ("", (address, rendered, zone, "email", items)) as `Deliverer._compose` returns."""
    cur.execute(q(_SETTINGS), (due["practitioner_id"],))
    chosen = cur.fetchone()
    if chosen is None or not chosen["enabled"]:
        return TURNED_OFF, None
    zone, day = chosen["timezone"], due["day"]
    if now.astimezone(ZoneInfo(zone)).date() > day:
        return "day over", None
    cur.execute(q(_DAY), (due["practitioner_id"], day))
    rows = cur.fetchall()
    if not rows:
        return "no appointments that day", None
    if not chosen["email"]:
        return "no email address", None
    language = chosen["language"]
    items = [{**item(r, base_url), "patient": r["patient"]} for r in rows]
    context = {
        "a": items[0],
        "items": items,
        "name": chosen["name"],
        "day": day_label(language if language in ("fr", "en") else "fr", day),
        "zone": zone,
        "agenda_link": items[0]["agenda_link"],
    }
    return "", (chosen["email"], render("daily_summary", language, context), zone, "email", items)
