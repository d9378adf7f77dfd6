"""The .ics file: UTC times, escaped text, lines of at most 75 octets, CRLF endings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from consulta.http.pages_ics import appointment_ics


def appointment(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": UUID(int=42),
        "starts_at": datetime(2026, 3, 30, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        "ends_at": datetime(2026, 3, 30, 9, 20, tzinfo=timezone(timedelta(hours=2))),
        "mode": "practice",
        "status": "booked",
        "address": "1 rue de la Paix; bâtiment B",
        "city": "Lyon",
        "practitioner_name": "Dr Claire Martin",
    }
    base.update(changes)
    return base


def test_times_are_utc_and_text_is_escaped() -> None:
    body = appointment_ics(
        appointment(), datetime(2026, 3, 1, tzinfo=UTC), "https://consulta.example", "RDV, Dr X"
    )
    text = body.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\r\nDTSTART:20260330T070000Z\r\n" in text and "\r\nDTEND:20260330T072000Z\r\n" in text
    assert f"\r\nUID:{UUID(int=42)}@consulta.example\r\n" in text
    assert "SUMMARY:RDV\\, Dr X" in text
    assert "LOCATION:1 rue de la Paix\\; bâtiment B\\, Lyon" in text
    assert "\n" not in text.replace("\r\n", "")


def test_long_lines_are_folded_by_octets() -> None:
    summary = "Rendez-vous avec " + "é" * 80
    body = appointment_ics(appointment(mode="video"), datetime(2026, 3, 1, tzinfo=UTC), "http://x", summary)
    lines = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    unfolded = body.decode().replace("\r\n ", "")
    assert f"SUMMARY:{summary}" in unfolded and "LOCATION:Video" in unfolded
    assert (
        appointment_ics(
            appointment(status="cancelled"), datetime(2026, 3, 1, tzinfo=UTC), "http://x", "s"
        ).count(b"STATUS:CANCELLED")
        == 1
    )
