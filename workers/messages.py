"""Message text in French or English, from the Jinja templates in workers/templates/.

One template per kind of message with the blocks `subject`, `text` (e-mail)
and `sms`. SMS text never names the motif or the specialty: the SMS blocks
are given no such field (`sms_context` strips them) so a template cannot leak
them by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

LANGUAGES = ("fr", "en")
TEMPLATES = Path(__file__).parent / "templates"
HEALTH_FIELDS = ("motif", "specialty", "reason")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    sms: str


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,  # plain text only: HTML bodies are not written from these templates  # noqa: S701
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def template_name(kind: str) -> str:
    return "alert" if kind.startswith("alert_") else kind


def item(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """What the templates know of one appointment."""
    zone = row["timezone"]
    return {
        "id": row["id"],
        "ends_at": row["ends_at"],
        "practice": row["practice"],
        "address": row["address"],
        "motif": row["motif"],
        "mode": row["mode"],
        "zone": zone,
        "local_start": row["starts_at"].astimezone(ZoneInfo(zone)),
        "link": f"{base_url}/my/appointments/{row['id']}/booked",
        "booking_link": f"{base_url}/practitioners/{row['practitioner_id']}",
        "agenda_link": f"{base_url}/pro/agenda?day={row['starts_at'].astimezone(ZoneInfo(zone)).date().isoformat()}",
    }


def sms_context(context: dict[str, Any]) -> dict[str, Any]:
    def strip(a: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in a.items() if k not in HEALTH_FIELDS}

    return {**context, "a": strip(context["a"]), "items": [strip(i) for i in context["items"]]}


def _block(template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
    if name not in template.blocks:
        return ""
    return "".join(template.blocks[name](template.new_context(context))).strip()


FR_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


FR_WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def day_label(language: str, day: date) -> str:
    """ "mardi 1er décembre 2026" / "Tuesday 1 December 2026" (the weekday avoids a wrong day)."""
    if language == "fr":
        first = "1er" if day.day == 1 else str(day.day)
        return f"{FR_WEEKDAYS[day.weekday()]} {first} {FR_MONTHS[day.month - 1]} {day.year}"
    return f"{day:%A} {day.day} {day:%B %Y}"


def when(language: str, a: dict[str, Any]) -> str:
    t = a["local_start"]
    return f"{day_label(language, t)} {'à' if language == 'fr' else 'at'} {t:%H:%M}"


def your_time(language: str, a: dict[str, Any]) -> str:
    """The patient's own time, when they chose a zone that is not the practice's (a video consultation
    from overseas): " (chez vous : 05:15, America/Martinique)", the day too when it differs; else ""."""
    zone = a.get("patient_zone")
    if not zone or zone == a["zone"]:
        return ""
    local = a["local_start"].astimezone(ZoneInfo(zone))
    at = (
        f"{local:%H:%M}"
        if local.date() == a["local_start"].date()
        else when(language, {"local_start": local})
    )
    return f" (chez vous : {at}, {zone})" if language == "fr" else f" (your time: {at}, {zone})"


def place(language: str, a: dict[str, Any]) -> str:
    if a["mode"] == "video":
        return "en vidéo" if language == "fr" else "by video"
    return ("au cabinet, " if language == "fr" else "at the practice, ") + a["address"]


def render(kind: str, language: str, context: dict[str, Any], channel: str | None = None) -> Rendered:
    """The message's blocks; with a `channel`, only that channel's ("email": subject and text; "sms")."""
    language = language if language in LANGUAGES else "fr"
    template = environment().get_template(f"{language}/{template_name(kind)}.j2")
    context = {
        "kind": kind,
        "when": lambda a: when(language, a),
        "place": lambda a: place(language, a),
        "your_time": lambda a: your_time(language, a),
        **context,
    }
    email, sms = channel in (None, "email"), channel in (None, "sms")
    return Rendered(
        subject=_block(template, "subject", context) if email else "",
        text=_block(template, "text", context) + "\n" if email else "",
        sms=_block(template, "sms", sms_context(context)) if sms else "",
    )


def local_now(zone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(zone))
