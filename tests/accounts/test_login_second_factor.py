"""Login with a second factor: staff always, patients once they turned it on; codes are good once."""

from __future__ import annotations

from tests.accounts.principals import page_login, post_form, totp_code
from tests.factories import make_patient
from tests.http.pages_client import page_client


async def test_practitioner_needs_the_code_after_the_password(settings, services, world) -> None:  # type: ignore[no-untyped-def]
    x = world.practitioner_x
    async with page_client(settings, services) as client:
        first = await post_form(client, "/login", {"email": x.email, "password": x.password})
        assert first.status_code == 303 and first.headers["location"] == "/login/second-factor"
        # Between the password and the code, nothing of the agenda is readable.
        assert (await client.get("/pro/agenda", follow_redirects=False)).status_code == 404
        wrong = await post_form(client, "/login/code", {"code": "000000"})
        assert wrong.status_code == 401
        good = await post_form(client, "/login/code", {"code": totp_code(x.totp_secret)})
        assert good.status_code == 303 and good.headers["location"] == "/pro/agenda"
        assert (await client.get("/pro/agenda")).status_code == 200


async def test_a_totp_code_is_good_once(settings, services, world) -> None:  # type: ignore[no-untyped-def]
    y = world.practitioner_y
    code = totp_code(y.totp_secret)
    async with page_client(settings, services) as client:
        await post_form(client, "/login", {"email": y.email, "password": y.password})
        assert (await post_form(client, "/login/code", {"code": code})).status_code == 303
    head = services.app.recorder.max_notification_id()
    async with page_client(settings, services) as client:
        await post_form(client, "/login", {"email": y.email, "password": y.password})
        again = await post_form(client, "/login/code", {"code": code})
        assert again.status_code == 401
        assert (await client.get("/pro/agenda", follow_redirects=False)).status_code == 404
    assert services.app.recorder.max_notification_id() == head  # nothing recorded


async def test_a_patient_without_second_factor_logs_in_with_the_password(settings, services, now) -> None:  # type: ignore[no-untyped-def]
    _actor, _, email = make_patient(services.app, now)
    async with page_client(settings, services) as client:
        response = await post_form(client, "/login", {"email": email, "password": "correct horse battery"})
        assert response.status_code == 303 and response.headers["location"] == "/my/appointments"


async def test_page_login_helper_logs_each_principal_in(settings, services, world) -> None:  # type: ignore[no-untyped-def]
    for principal in (world.patient_a, world.practitioner_x):
        async with page_client(settings, services) as client:
            await page_login(client, principal)
            assert (await client.get("/account")).status_code == 200
