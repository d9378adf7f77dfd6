"""The API: staff log in with an authenticator code; appointment details need a token that had one."""

from __future__ import annotations

from tests.accounts.principals import PASSWORD, api_login, totp_code
from tests.factories import make_patient


async def test_staff_need_a_code_and_a_code_is_good_once(client, services, world) -> None:  # type: ignore[no-untyped-def]
    x = world.practitioner_x
    missing = await client.post("/api/v1/auth/login", json={"email": x.email, "password": x.password})
    assert missing.status_code == 401 and "second_factor_required" in missing.json()["detail"]
    code = totp_code(x.totp_secret)
    good = await client.post(
        "/api/v1/auth/login", json={"email": x.email, "password": x.password, "code": code}
    )
    assert good.status_code == 200
    reused = await client.post(
        "/api/v1/auth/login", json={"email": x.email, "password": x.password, "code": code}
    )
    assert reused.status_code == 401
    wrong_password = await client.post(
        "/api/v1/auth/login",
        json={"email": x.email, "password": "not the password", "code": totp_code(x.totp_secret)},
    )
    assert wrong_password.status_code == 401


async def test_appointment_details_need_a_second_factor(client, services, world, now) -> None:  # type: ignore[no-untyped-def]
    a = world.patient_a
    token = await api_login(client, a)
    one = await client.get(
        f"/api/v1/appointments/{a.appointment_id}", headers={"authorization": f"Bearer {token}"}
    )
    assert one.status_code == 200 and one.json()["motif_id"] == "consult"
    # B's appointment looks missing to A.
    foreign = await client.get(
        f"/api/v1/appointments/{world.patient_b.appointment_id}", headers={"authorization": f"Bearer {token}"}
    )
    assert foreign.status_code == 404
    # A patient without a second factor logs in with the password, sees the list without motifs, no details.
    _, _, email = make_patient(services.app, now)
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    plain = {"authorization": f"Bearer {login.json()['token']}"}
    listing = await client.get("/api/v1/appointments", headers=plain)
    assert listing.status_code == 200
    detail = await client.get(f"/api/v1/appointments/{a.appointment_id}", headers=plain)
    assert detail.status_code == 403 and detail.json()["code"] == "second_factor_required"
