"""The `.ics` file attached to confirmation and move e-mails (RFC 5545, times in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space."""
    if len(line) <= 75 and line.isascii():
        return line
    data, parts = line.encode(), list[str]()
    while len(data) > 75:
        cut = 75 if not parts else 74
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        parts.append(data[:cut].decode())
        data = data[cut:]
    parts.append(data.decode())
    return "\r\n ".join(parts)


def appointment_ics(a: dict[str, Any], ends_at: datetime, now: datetime, method: str = "PUBLISH") -> bytes:
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Consulta//Notifications//EN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{a['id']}@consulta",
        f"DTSTAMP:{now.astimezone(UTC).strftime(stamp)}",
        f"DTSTART:{a['local_start'].astimezone(UTC).strftime(stamp)}",
        f"DTEND:{ends_at.astimezone(UTC).strftime(stamp)}",
        f"SUMMARY:{_escape(a['practice'])}",
        f"LOCATION:{_escape(a['address'] if a['mode'] != 'video' else a['link'])}",
        f"URL:{a['link']}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
