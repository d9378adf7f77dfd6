"""The OpenAPI document: valid, and describing every API endpoint, its shapes and the bearer scheme."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

from openapi_spec_validator import validate

from tests.http.api_helpers import client  # noqa: F401

ENDPOINTS = {
    ("post", "/api/v1/auth/register"): ("RegisterBody", "201", False),
    ("post", "/api/v1/auth/login"): ("LoginBody", "200", False),
    ("get", "/api/v1/practitioners"): (None, "200", False),
    ("get", "/api/v1/practitioners/{practitioner_id}"): (None, "200", False),
    ("get", "/api/v1/practitioners/{practitioner_id}/slots"): (None, "200", False),
    ("get", "/api/v1/practitioners/{practitioner_id}/agenda"): (None, "200", True),
    ("post", "/api/v1/appointments"): ("BookingBody", "201", True),
    ("get", "/api/v1/appointments"): (None, "200", True),
    ("get", "/api/v1/appointments/{appointment_id}"): (None, "200", True),
    ("post", "/api/v1/appointments/{appointment_id}/cancel"): ("CancelBody", "200", True),
    ("post", "/api/v1/appointments/{appointment_id}/reschedule"): ("RescheduleBody", "200", True),
    ("get", "/api/v1/profiles"): (None, "200", True),
    ("post", "/api/v1/profiles"): ("ProfileBody", "201", True),
}


async def test_the_openapi_document_is_valid_and_complete(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "POST /api/v1/auth/login",
    }
    schemas = document["components"]["schemas"]
    api_paths = {(m, p) for p, ops in document["paths"].items() if p.startswith("/api/") for m in ops}
    assert api_paths == set(ENDPOINTS)
    for (method, path), (body, success, secured) in ENDPOINTS.items():
        operation = document["paths"][path][method]
        answer = operation["responses"][success]["content"]["application/json"]["schema"]
        assert answer["$ref"].split("/")[-1] in schemas
        if body:
            sent = str(operation["requestBody"]["content"]["application/json"]["schema"])
            assert f"#/components/schemas/{body}" in sent, (path, sent)
        assert (operation.get("security") == [{"bearer": []}]) is secured, path
        for status, described in operation["responses"].items():
            if status.startswith("4"):
                assert described["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
        if secured:
            assert "401" in operation["responses"]
    assert {"starts_at", "ends_at", "motif_id", "mode"} <= set(schemas["SlotOut"]["properties"])
    assert {"id", "status", "practitioner_id", "motif_id", "starts_at", "ends_at", "mode"} <= set(
        schemas["AppointmentOut"]["properties"]
    )
    assert schemas["BookingBody"]["properties"]["starts_at"]["format"] == "date-time"
    assert {"appointments", "blocks", "timezone", "starts_at", "ends_at"} <= set(
        schemas["AgendaOut"]["properties"]
    )
    booking = document["paths"]["/api/v1/appointments"]["post"]
    assert [p["name"] for p in booking["parameters"]] == ["Idempotency-Key"]
