"""API accounts: register, log in, bearer tokens, the login rate limit."""
# ruff: noqa: F811 - the `client` fixture is imported

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.testing import AsyncTestClient

from consulta.http.api_limits import MinuteLimiter
from consulta.http.app import create_app
from tests.factories import unique_email
from tests.http.api_helpers import JSON, assert_problem, client, head  # noqa: F401

PASSWORD = "correct horse battery"


def registration(**changes: object) -> dict[str, object]:
    return {
        "email": unique_email("api"),
        "password": PASSWORD,
        "first_name": "Inès",
        "last_name": "Moreau",
        "birth_date": "1990-04-02",
        **changes,
    }


async def test_register_then_login_gives_a_token_the_api_accepts(client, services):
    body = registration()
    created = await client.post("/api/v1/auth/register", json=body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert set(account) >= {"id", "profile_id"}
    assert services.app.get_account(account["id"]).profile_id is not None

    login = await client.post("/api/v1/auth/login", json={"email": body["email"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["token"]
    assert login.json()["token_type"] == "Bearer" and login.json()["expires_in"] > 0

    mine = await client.get("/api/v1/appointments", headers={"authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and mine.json() == {"items": []}


async def test_an_email_in_use_answers_409_and_records_nothing(client, services):
    body = registration()
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    before = head(services)
    again = await client.post("/api/v1/auth/register", json={**body, "email": str(body["email"]).upper()})
    assert assert_problem(again, 409)["code"] == "email_taken"
    assert head(services) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-address"}, None),
        ({"password": "short"}, None),
        ({"birth_date": "1990-13-45"}, "birth_date"),
        ({"birth_date": "2999-01-01"}, None),
        ({"first_name": "   "}, None),
        ({"first_name": 42}, "first_name"),
        ({"last_name": "x" * 101}, "last_name"),
    ],
)
async def test_invalid_registrations_answer_422_naming_the_rule_and_record_nothing(
    client, services, changes, field
):
    before = head(services)
    response = await client.post("/api/v1/auth/register", json=registration(**changes))
    problem = assert_problem(response, 422)
    if field:
        assert [e["name"] for e in problem["errors"]] == [field]
    said = problem["detail"] + " ".join(e["reason"] for e in problem.get("errors") or [])
    for value in changes.values():  # never echoed
        assert not str(value).strip() or str(value) not in said
    assert head(services) == before


async def test_a_missing_field_is_named(client, services):
    body = registration()
    del body["last_name"]
    problem = assert_problem(await client.post("/api/v1/auth/register", json=body), 422)
    assert problem["errors"][0]["name"] == "last_name"


async def test_wrong_password_and_unknown_email_answer_the_same_401(client, services):
    body = registration()
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": body["email"], "password": "wrong password!"}
    )
    unknown = await client.post("/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD})
    assert assert_problem(wrong, 401) == assert_problem(unknown, 401)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 300]
)
async def test_missing_or_invalid_tokens_answer_401(client, authorization):
    headers = {"authorization": authorization} if authorization else {}
    response = await client.get("/api/v1/appointments", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_revoked_token_is_refused(client, services):
    from tests.factories import make_patient

    actor, _, _ = make_patient(services.app, services.clock.now())
    token = await client.app.state.api_tokens.issue(actor)
    assert (
        await client.get("/api/v1/appointments", headers={"authorization": f"Bearer {token}"})
    ).status_code == 200
    await client.app.state.api_tokens.revoke(token)
    assert_problem(
        await client.get("/api/v1/appointments", headers={"authorization": f"Bearer {token}"}), 401
    )


def _same_minute_ahead(seconds: int = 8) -> None:
    """Wait for a fresh minute when the current one is about to end (the limit counts per minute)."""
    second = datetime.now(UTC).second
    if second > 60 - seconds:
        time.sleep(61 - second)


async def test_login_attempts_beyond_the_rate_answer_429_with_retry_after(settings, services):
    _same_minute_ahead()
    app = create_app(settings.with_(login_rate_per_minute=3), services)
    async with AsyncTestClient(app) as limited:
        email = unique_email()
        answers = [
            await limited.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            for _ in range(4)
        ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    problem = assert_problem(answers[-1], 429)
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert email not in str(problem)


async def test_the_limit_counts_per_address_and_per_account():
    limiter = MinuteLimiter(MemoryStore(), per_minute=2)
    now = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)
    # One account from many addresses: the account's limit applies.
    answers = [await limiter.hit(now, address=f"10.0.0.{i}", account="a@example.org") for i in range(3)]
    assert answers == [None, None, 55]
    # One address trying many accounts: the address's limit applies.
    answers = [await limiter.hit(now, address="10.0.1.1", account=f"{i}@example.org") for i in range(3)]
    assert answers == [None, None, 55]
    # A new minute starts afresh.
    assert await limiter.hit(now + timedelta(minutes=1), address="10.0.0.9", account="a@example.org") is None


async def test_the_limit_is_shared_through_redis_by_every_process(redis_url):
    namespace = f"consulta-test:login-rate:{time.time_ns()}"
    stores = [RedisStore.with_client(url=redis_url, namespace=namespace) for _ in range(2)]
    first, second = (MinuteLimiter(store, per_minute=3) for store in stores)
    now = datetime(2026, 3, 1, 10, 0, 30, tzinfo=UTC)
    answers = await asyncio.gather(
        *(lim.hit(now, address="10.0.0.1", account="b@example.org") for lim in (first, second) * 3)
    )
    assert sorted(answers, key=lambda a: a or 0) == [None, None, None, 30, 30, 30]
    for store in stores:
        await store.delete_all()
        await store._redis.aclose()


async def test_with_redis_configured_the_limiters_count_in_redis(settings, services, redis_url):
    from consulta.http.api_limits import limiter_of

    app = create_app(settings.with_(redis_url=redis_url), services)
    limiter = limiter_of(app, "login-rate", 5)
    assert isinstance(limiter.store, RedisStore) and limiter.store.namespace == "consulta:login-rate"
    assert limiter_of(app, "login-rate", 5) is limiter
    assert isinstance(limiter_of(create_app(settings, services), "login-rate", 5).store, MemoryStore)
    await limiter.store._redis.aclose()
