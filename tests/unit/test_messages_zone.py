"""A patient's own zone in the messages' times (workers/messages.your_time)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from consulta.workers.messages import your_time

PARIS = ZoneInfo("Europe/Paris")


def item(patient_zone: str | None, hour: int = 16) -> dict:
    return {"zone": "Europe/Paris", "patient_zone": patient_zone, "local_start": datetime(2026, 12, 1, hour, 0, tzinfo=PARIS)}


def test_the_same_zone_or_none_adds_nothing() -> None:
    assert your_time("fr", item(None)) == "" and your_time("fr", item("Europe/Paris")) == ""


def test_another_zone_gives_the_time_there_and_the_day_when_it_differs() -> None:
    assert your_time("fr", item("America/Martinique")) == " (chez vous : 11:00, America/Martinique)"
    assert your_time("en", item("America/Martinique")) == " (your time: 11:00, America/Martinique)"
    assert your_time("fr", item("Pacific/Noumea")) == " (chez vous : mercredi 2 décembre 2026 à 02:00, Pacific/Noumea)"
