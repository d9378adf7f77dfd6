"""API directory: search, one practitioner, free slots with offsets, range and time checks."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from urllib.parse import quote
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from tests.http.api_helpers import assert_problem, client, free_slots, practitioner  # noqa: F401

PRACTITIONER_KEYS = {"id", "name", "specialty", "city", "video", "motifs"}
MOTIF_KEYS = {"id", "name", "duration_minutes", "modes"}
SLOT_KEYS = {"starts_at", "ends_at", "motif_id", "mode"}


async def test_search_filters_by_words_specialty_city_and_video(client, services):
    tag = secrets.token_hex(3)
    city = f"Annecy-{tag}"
    with_video, _ = practitioner(services, name=f"Dr Léa Roux {tag}", specialty="Dermatology", city=city)
    practice_only, _ = practitioner(
        services,
        name=f"Dr Paul Petit {tag}",
        specialty="Pediatrics",
        city=city,
        motifs=[{"id": "visit", "name": "Visit", "duration_minutes": 30, "modes": ["practice"]}],
    )

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v1/practitioners", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(q=tag) == [str(with_video), str(practice_only)]
    assert await ids(city=city, specialty="dermatology") == [str(with_video)]
    assert await ids(city=city, video="true") == [str(with_video)]
    assert await ids(city=city, video="false") == [str(practice_only)]
    assert await ids(q=f"nobody-{tag}") == []

    listed = (await client.get("/api/v1/practitioners", params={"q": tag})).json()["items"][0]
    assert set(listed) >= PRACTITIONER_KEYS and listed["video"] is True
    assert all(set(m) >= MOTIF_KEYS for m in listed["motifs"])


async def test_one_practitioner_lists_motifs_bookable_online(client, services):
    motifs = [
        {"id": "consult", "name": "Consultation", "duration_minutes": 20, "modes": ["practice", "video"]},
        {
            "id": "surgery",
            "name": "Minor surgery",
            "duration_minutes": 60,
            "modes": ["practice"],
            "online": False,
        },
    ]
    practitioner_id, _ = practitioner(services, city="Brest", motifs=motifs)
    response = await client.get(f"/api/v1/practitioners/{practitioner_id}")
    assert response.status_code == 200, response.text
    card = response.json()
    assert (
        card["id"] == str(practitioner_id) and card["city"] == "Brest" and card["timezone"] == "Europe/Paris"
    )
    assert card["motifs"] == [
        {
            "id": "consult",
            "name": "Consultation",
            "duration_minutes": 20,
            "modes": ["practice", "video"],
            "online": True,
            "new_patients": True,
        }
    ]


@pytest.mark.parametrize("path", [f"/api/v1/practitioners/{uuid4()}", "/api/v1/practitioners/not-an-id"])
async def test_unknown_or_malformed_practitioner_ids_answer_404(client, path):
    assert_problem(await client.get(path), 404)
    assert_problem(await client.get(path + "/slots"), 404)


async def test_slots_carry_the_practitioners_offset_and_fit_the_motif(client, services):
    practitioner_id, _ = practitioner(services, timezone="America/New_York")
    zone = ZoneInfo("America/New_York")
    before = datetime.now(zone)  # the server's "now" lies between these two
    response = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots", params={"motif": "consult"})
    after = datetime.now(zone)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/New_York" and body["slots"]
    for slot in body["slots"]:
        assert set(slot) >= SLOT_KEYS and slot["motif_id"] == "consult"
        starts, ends = datetime.fromisoformat(slot["starts_at"]), datetime.fromisoformat(slot["ends_at"])
        assert starts.utcoffset() == starts.astimezone(zone).utcoffset() != timedelta(0)
        assert ends - starts == timedelta(minutes=20)
        assert before + timedelta(hours=2) <= starts < after + timedelta(days=7)
        local = starts.astimezone(zone)
        assert (local.hour, slot["mode"]) in {(h, "practice") for h in (9, 10, 11, 14, 15, 16)} | {
            (17, "video")
        }


async def test_slots_filter_by_mode_and_window(client, services):
    practitioner_id, _ = practitioner(services)
    start = datetime.now(ZoneInfo("Europe/Paris")).replace(microsecond=0) + timedelta(days=3)
    end = start + timedelta(days=20)
    video = await free_slots(
        client, practitioner_id, mode="video", **{"from": start.isoformat(), "to": end.isoformat()}
    )
    assert video and {s["mode"] for s in video} == {"video"}
    assert all(start <= datetime.fromisoformat(s["starts_at"]) < end for s in video)
    every = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots")
    assert {s["motif_id"] for s in every.json()["slots"]} == {"consult", "long", "first"}


async def test_an_unencoded_plus_in_the_offset_is_understood(client, services):
    practitioner_id, _ = practitioner(services)
    start = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=2)).replace(microsecond=0).isoformat()
    assert "+09:00" in start
    response = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots?motif=consult&from={start}")
    assert response.status_code == 200, response.text
    first = datetime.fromisoformat(response.json()["slots"][0]["starts_at"])
    assert first >= datetime.fromisoformat(start)


@pytest.mark.parametrize(
    ("query", "field", "status"),
    [
        ("from=2030-01-01T10:00:00", "from", 422),  # naive: no offset
        ("from=yesterday", "from", 422),
        ("to=2030-01-01", "to", 422),  # a date has no offset either
        ("from=2030-01-01T10:00:00Z&to=2030-03-15T10:00:00Z", "to", 422),  # more than 62 days
        ("from=2030-01-02T10:00:00Z&to=2030-01-01T10:00:00Z", "to", 422),  # ends before it starts
        ("mode=teleport", "mode", 422),
        ("motif=" + "m" * 101, "motif", 422),
    ],
)
async def test_bad_slot_queries_answer_422_naming_the_field(client, services, query, field, status):
    practitioner_id, _ = practitioner(services)
    response = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots?{query}")
    problem = assert_problem(response, status)
    assert [e["name"] for e in problem["errors"]] == [field]
    assert "teleport" not in response.text and "yesterday" not in response.text


async def test_an_unknown_motif_answers_404(client, services):
    practitioner_id, _ = practitioner(services)
    response = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots?motif={quote('nope')}")
    assert assert_problem(response, 404)["code"] == "not_found"


@pytest.mark.parametrize("query", ["video=maybe", "limit=0", "limit=many", "q=" + "x" * 101])
async def test_bad_search_queries_answer_422(client, query):
    assert_problem(await client.get(f"/api/v1/practitioners?{query}"), 422)


async def test_empty_parameters_mean_no_filter(client, services):
    practitioner_id, _ = practitioner(services)
    listed = await client.get("/api/v1/practitioners?q=&specialty=&city=&video=&limit=100")
    assert listed.status_code == 200, listed.text
    slots = await client.get(f"/api/v1/practitioners/{practitioner_id}/slots?motif=&from=&to=&mode=")
    assert slots.status_code == 200, slots.text
    assert {s["motif_id"] for s in slots.json()["slots"]} == {"consult", "long", "first"}
