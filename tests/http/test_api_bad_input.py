"""Bad input to the API: a clear problem+json 4xx, never a 500, and nothing recorded."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from consulta.http.app import create_app
from tests.http.api_helpers import (  # noqa: F401
    JSON,
    PROBLEM,
    assert_problem,
    bearer,
    booking,
    client,
    head,
    later_slots,
    patient,
    practitioner,
)


def shifted(instant: str, **delta: float) -> str:
    return (datetime.fromisoformat(instant) + timedelta(**delta)).isoformat()


# Each case: a change to a valid booking -> (status, problem code or invalid field).
BOOKING_CASES: list[tuple[str, Any, int, str]] = [
    ("naive time", lambda b: {**b, "starts_at": b["starts_at"][:19]}, 422, "starts_at"),
    ("date only", lambda b: {**b, "starts_at": b["starts_at"][:10]}, 422, "starts_at"),
    ("malformed time", lambda b: {**b, "starts_at": "tomorrow at ten"}, 422, "starts_at"),
    ("malformed id", lambda b: {**b, "practitioner_id": "42"}, 422, "practitioner_id"),
    ("unknown mode", lambda b: {**b, "mode": "teleport"}, 422, "mode"),
    ("missing motif", lambda b: {k: v for k, v in b.items() if k != "motif_id"}, 422, "motif_id"),
    ("not an object", lambda b: [b], 422, "body"),
    ("unknown practitioner", lambda b: {**b, "practitioner_id": str(uuid4())}, 404, "not_found"),
    ("unknown motif", lambda b: {**b, "motif_id": "nope"}, 404, "not_found"),
    ("foreign or unknown profile", lambda b: {**b, "profile_id": str(uuid4())}, 404, "not_found"),
    ("misaligned", lambda b: {**b, "starts_at": shifted(b["starts_at"], minutes=5)}, 422, "slot_not_offered"),
    ("outside hours", lambda b: {**b, "starts_at": shifted(b["starts_at"][:11] + "03:00:00+01:00")}, 422, ""),
    ("in the past", lambda b: {**b, "starts_at": shifted(b["starts_at"], days=-30)}, 422, "booking_window"),
    (
        "beyond the horizon",
        lambda b: {**b, "starts_at": shifted(b["starts_at"], days=91)},
        422,
        "booking_window",
    ),
    ("mode not offered", lambda b: {**b, "motif_id": "long", "mode": "video"}, 422, "motif_not_bookable"),
]


@pytest.mark.parametrize(
    ("name", "change", "status", "what"), BOOKING_CASES, ids=[c[0] for c in BOOKING_CASES]
)
async def test_bad_bookings_answer_a_clear_problem_and_record_nothing(
    client, services, name, change, status, what
):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slot = next(s for s in await later_slots(client, practitioner_id) if s["mode"] == "practice")
    before = head(services)
    response = await client.post(
        "/api/v1/appointments", json=change(booking(practitioner_id, slot)), headers=headers
    )
    problem = assert_problem(response, status)
    if what and "errors" in problem:
        assert [e["name"] for e in problem["errors"]] == [what]
    elif what:
        assert problem["code"] == what
    assert "teleport" not in response.text and "tomorrow" not in response.text
    assert head(services) == before


async def test_someone_elses_profile_looks_missing(client, services):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    _, _, their_profile = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[0]
    before = head(services)
    foreign = await client.post(
        "/api/v1/appointments",
        json=booking(practitioner_id, slot, profile_id=str(their_profile)),
        headers=headers,
    )
    assert assert_problem(foreign, 404)["detail"] == "profile not found"
    assert head(services) == before


async def test_transport_errors_malformed_json_wrong_type_oversized_no_token(client, services, settings):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    auth = {k: v for k, v in headers.items() if k == "authorization"}
    body = json.dumps(booking(practitioner_id, (await later_slots(client, practitioner_id))[0])).encode()
    before = head(services)
    url = "/api/v1/appointments"

    assert_problem(await client.post(url, content=body[:-3], headers=headers), 400)
    assert_problem(await client.post(url, content=b"\xff\xfe", headers=headers), 400)
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        assert_problem(
            await client.post(url, content=body, headers={**auth, "content-type": content_type}), 415
        )
    assert_problem(await client.post(url, content=body, headers=auth), 415)  # no content type at all
    padded = body[:-1] + b', "padding": "' + b"x" * settings.max_body_bytes + b'"}'
    assert_problem(await client.post(url, content=padded, headers=headers), 413)
    assert_problem(await client.post(url, content=body, headers=JSON), 401)
    long_key = {**headers, "Idempotency-Key": "k" * 201}
    problem = assert_problem(await client.post(url, content=body, headers=long_key), 422)
    assert [e["name"] for e in problem["errors"]] == ["Idempotency-Key"]
    assert head(services) == before


async def test_unknown_api_routes_and_methods_answer_problems(client):
    assert_problem(await client.get("/api/v1/nothing-here"), 404)
    assert_problem(await client.get("/api/v2/practitioners"), 404)
    not_allowed = await client.delete("/api/v1/appointments")
    assert_problem(not_allowed, 405)
    assert "GET" in not_allowed.headers["allow"]
    assert_problem(await client.put("/api/v1/auth/login", json={}), 405)


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    return st.recursive(
        leaves,
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5),
        max_leaves=12,
    )


OFFSETS = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)), None]
BOOKING_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "practitioner_id": st.uuids().map(str) | json_values(),
        "motif_id": st.sampled_from(["consult", "long", ""]) | json_values(),
        "starts_at": st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.isoformat) | json_values(),
        "mode": st.sampled_from(["practice", "video"]) | json_values(),
        "profile_id": st.uuids().map(str) | json_values(),
    },
)


def test_no_body_makes_the_api_fail_or_record(settings, services):
    """Arbitrary JSON to every POST: always a 4xx problem, never a 500, never a new event."""
    from tests.factories import make_patient

    actor, _, _ = make_patient(services.app, services.clock.now())
    practitioner_id, _ = practitioner(services)
    with TestClient(create_app(settings, services)) as sync_client:
        with sync_client.portal() as portal:
            token = portal.call(sync_client.app.state.api_tokens.issue, actor)
        headers = {**JSON, "authorization": f"Bearer {token}"}
        urls = [
            "/api/v1/appointments",
            f"/api/v1/appointments/{uuid4()}/cancel",
            f"/api/v1/appointments/{uuid4()}/reschedule",
            "/api/v1/auth/login",
        ]
        before = head(services)

        @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(url=st.sampled_from(urls), body=json_values() | BOOKING_FIELDS)
        def posting(url: str, body: Any) -> None:
            response = sync_client.post(url, content=json.dumps(body), headers=headers)
            assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")

        posting()

        slots_url = f"/api/v1/practitioners/{practitioner_id}/slots"
        instants = st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.isoformat) | st.text(
            max_size=40
        )

        @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            st.fixed_dictionaries(
                {},
                optional={
                    "from": instants,
                    "to": instants,
                    "motif": st.text(max_size=20),
                    "mode": st.text(max_size=9),
                },
            )
        )
        def asking(params: dict[str, str]) -> None:
            response = sync_client.get(slots_url, params=params)
            assert response.status_code < 500, (params, response.text)
            assert response.status_code == 200 or response.headers["content-type"].startswith(PROBLEM)

        asking()
        assert head(services) == before


@pytest.mark.parametrize(
    "instant", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00", "9999-12-31T23:59:59+00:00"]
)
async def test_instants_at_the_ends_of_the_calendar_answer_422(client, services, instant):
    practitioner_id, _ = practitioner(services)
    headers, _, _ = await patient(client, services)
    slot = (await later_slots(client, practitioner_id))[0]
    before = head(services)
    for query in (f"from={instant}", f"to={instant}"):
        response = await client.get(
            f"/api/v1/practitioners/{practitioner_id}/slots", params=dict([query.split("=")])
        )
        assert_problem(response, 422)
    booked = await client.post(
        "/api/v1/appointments", json=booking(practitioner_id, slot, starts_at=instant), headers=headers
    )
    assert [e["name"] for e in assert_problem(booked, 422)["errors"]] == ["starts_at"]
    assert head(services) == before
