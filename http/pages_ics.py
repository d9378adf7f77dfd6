"""An iCalendar (RFC 5545) file for one appointment, written by hand.

Times are in UTC (`...Z`), so every calendar places the event right. The
summary names the practitioner only: no motif, nothing about health.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space (RFC 5545 3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def appointment_ics(appointment: dict[str, Any], now: datetime, base_url: str, summary: str) -> bytes:
    host = urlparse(base_url).hostname or "consulta"
    video = appointment["mode"] == "video"
    location = (
        "Video consultation"
        if video
        else ", ".join(
            part for part in (appointment.get("address") or "", appointment.get("city") or "") if part
        )
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Consulta//Consulta//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment['id']}@{host}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(appointment['starts_at'])}",
        f"DTEND:{_utc(appointment['ends_at'])}",
        f"SUMMARY:{_escape(summary)}",
        f"LOCATION:{_escape(location)}",
        "STATUS:CONFIRMED" if appointment["status"] == "booked" else "STATUS:CANCELLED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
