"""Sessions: server-side, 256-bit ids renewed at login and destroyed at logout, idle and absolute timeouts."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from consulta.settings import Settings
from tests.factories import make_patient
from tests.security.helpers import client_for, log_in, on_clock, post_form


def _session_cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    found = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "session=" in v]
    assert len(found) == 1, found
    return found[0]


async def test_production_cookie_is_host_prefixed_secure_and_renewed_at_login(
    settings: Settings,
    services,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    prod = settings.with_(environment="production", redis_url=redis_url)
    _, _, email = make_patient(services.app, services.clock.now())
    store = redis.Redis.from_url(redis_url)
    async with client_for(prod, services, secure=True) as client:
        assert client.cookies.get("__Host-csrftoken")
        assert not any("session" in k for k in client.cookies), "an anonymous visit stores nothing"
        planted = "a" * 64
        client.cookies.set("__Host-session", planted, domain="127.0.0.1")
        response = await log_in(client, email)
        assert response.status_code == 303
        header = _session_cookie_header(response)
        assert header.startswith("__Host-session=")
        parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
        assert {"secure", "httponly", "path"} <= parts and "domain" not in parts
        assert "samesite=lax" in header.lower()
        session_id = header.split(";")[0].split("=", 1)[1]
        assert session_id != planted and len(bytes.fromhex(session_id)) == 32
        assert store.exists(f"consulta:sessions{session_id}") or store.keys(f"*{session_id}*")
        assert not store.keys(f"*{planted}*")
        assert (await client.get("/my/appointments")).status_code == 200

        response = await post_form(client, "/logout")
        assert response.status_code == 303
        assert "null" in _session_cookie_header(response)
        assert not store.keys(f"*{session_id}*"), "logout destroys the server-side session"
        client.cookies.set("__Host-session", session_id, domain="127.0.0.1")
        answer = await client.get("/my/appointments", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_an_unknown_session_id_is_never_adopted(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    async with client_for(settings, services) as client:
        client.cookies.set("session", "b" * 64, domain="127.0.0.1")
        response = await client.get("/my/appointments", follow_redirects=False)
        assert response.status_code == 303
        assert "b" * 64 not in str(response.headers.get_list("set-cookie"))


async def test_patient_idle_and_absolute_timeouts(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    timed, clock = on_clock(services, datetime(2031, 3, 3, 8, 0, tzinfo=UTC))
    _, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, timed) as client:
        await log_in(client, email)
        clock.advance(minutes=29)
        assert (await client.get("/my/appointments")).status_code == 200
        clock.advance(minutes=31)
        answer = await client.get("/my/appointments", follow_redirects=False)
        assert answer.status_code == 303, "idle for 31 minutes: logged out"

        await log_in(client, email)
        for _ in range(12 * 3):  # active every 20 minutes for 12 hours
            clock.advance(minutes=20)
            assert (await client.get("/my/appointments")).status_code == 200
        clock.advance(minutes=20)
        answer = await client.get("/my/appointments", follow_redirects=False)
        assert answer.status_code == 303, "past 12 hours: logged out however active"


async def test_staff_sessions_are_shorter(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    from tests.accounts.principals import page_login, practitioner

    timed, clock = on_clock(services, datetime.now(UTC))
    staff = practitioner(services, services.clock.now(), "practitioner", "Dr Sam Timeout")
    async with client_for(settings, timed) as client:
        await page_login(client, staff)  # password, then TOTP: codes follow the real time
        clock.advance(minutes=14)
        assert (await client.get("/pro/agenda")).status_code == 200
        clock.advance(minutes=16)
        assert (await client.get("/pro/agenda", follow_redirects=False)).status_code != 200, "idle 16 minutes"

        clock.at = datetime.now(UTC)
        await page_login(client, staff)
        for _ in range(8 * 6):  # active every 10 minutes for 8 hours
            clock.advance(minutes=10)
            assert (await client.get("/pro/agenda")).status_code == 200
        clock.advance(minutes=10)
        assert (await client.get("/pro/agenda", follow_redirects=False)).status_code != 200, "past 8 hours"


async def test_ending_all_sessions_of_an_account_logs_out_every_device(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    from consulta.http.security import end_all_sessions

    timed, clock = on_clock(services, datetime(2031, 3, 3, 8, 0, tzinfo=UTC))
    actor, _, email = make_patient(services.app, services.clock.now())
    _, _, other_email = make_patient(services.app, services.clock.now())
    async with client_for(settings, timed) as phone:
        app = phone.app  # one application, one session store, as every process shares Redis
        async with (
            client_for(settings, timed, app=app) as laptop,
            client_for(settings, timed, app=app) as someone_else,
        ):
            for client, who in ((phone, email), (laptop, email), (someone_else, other_email)):
                await log_in(client, who)
                assert (await client.get("/my/appointments")).status_code == 200
            clock.advance(seconds=1)
            await end_all_sessions(app, actor.account_id, clock.now().timestamp())
            for client in (phone, laptop):
                assert (await client.get("/my/appointments", follow_redirects=False)).status_code == 303
            assert (await someone_else.get("/my/appointments")).status_code == 200, "other accounts stay"
            clock.advance(seconds=1)
            await log_in(laptop, email)
            assert (await laptop.get("/my/appointments")).status_code == 200, "a later login works"


async def test_production_csrf_cookie_is_host_prefixed_secure_httponly_strict(
    settings: Settings,
    services,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    from litestar.testing import AsyncTestClient

    from consulta.http.app import create_app

    prod = settings.with_(environment="production", redis_url=redis_url)
    async with AsyncTestClient(create_app(prod, services), base_url="https://127.0.0.1") as client:
        first = await client.get("/")
        header = next(v for k, v in first.headers.multi_items() if k == "set-cookie" and "csrftoken" in v)
        assert header.startswith("__Host-csrftoken=")
        parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
        assert {"secure", "httponly", "path"} <= parts and "domain" not in parts
        assert "samesite=strict" in header.lower()


async def test_a_password_reset_logs_out_every_device_and_token(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    _, _, email = make_patient(services.app, services.clock.now())
    async with (
        client_for(settings, services) as stolen,
        client_for(settings, services, app=stolen.app) as owner,
    ):
        await log_in(stolen, email)
        assert (await stolen.get("/my/appointments")).status_code == 200
        api = await stolen.post(
            "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
        )
        bearer = {"authorization": f"Bearer {api.json()['token']}"}
        assert (await stolen.get("/api/v1/appointments", headers=bearer)).status_code == 200
        found = services.app.request_password_reset(email, services.clock.now())
        assert found is not None
        done = await post_form(
            owner, f"/password/reset/{found[0]}/done", {"password": "a brand new passphrase"}
        )
        assert done.status_code == 303, done.status_code
        assert (await stolen.get("/my/appointments", follow_redirects=False)).status_code == 303
        assert (await stolen.get("/api/v1/appointments", headers=bearer)).status_code == 401
        assert (await log_in(owner, email, "a brand new passphrase")).status_code == 303
        assert (await owner.get("/my/appointments")).status_code == 200


async def test_a_second_factor_after_login_renews_the_session_id(settings: Settings, services) -> None:  # type: ignore[no-untyped-def]
    import re

    from tests.accounts.principals import totp_code

    _, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, services) as client:
        assert (await log_in(client, email)).status_code == 303
        setup = await client.get("/account/second-factor")
        found = re.search(r'id="totp-key" readonly value="([A-Z2-7]+)"', setup.text)
        assert found, "the set-up page shows the key"
        old_id = client.cookies.get("session")
        assert old_id
        passed = await post_form(client, "/account/second-factor/code", {"code": totp_code(found.group(1))})
        assert passed.status_code == 303
        new_id = _session_cookie_header(passed).split(";")[0].split("=", 1)[1]
        assert new_id and new_id != old_id
        assert (await client.get("/my/appointments")).status_code == 200, "still logged in, on the new id"
        async with client_for(settings, services, app=client.app) as thief:
            thief.cookies.set("session", old_id, domain="127.0.0.1")
            answer = await thief.get("/my/appointments", follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
