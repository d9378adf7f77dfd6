"""E-mail confirmation, password reset and codes by e-mail, over real SMTP (a local aiosmtpd server).

Links are good once and expire; a used, expired or unknown link changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from consulta.clock import FixedClock
from tests.accounts.conftest import code_in, head, link_in
from tests.accounts.principals import PASSWORD, post_form
from tests.factories import unique_email


async def register(client, email: str) -> None:  # type: ignore[no-untyped-def]
    form = {
        "email": email,
        "password": PASSWORD,
        "first_name": "Inès",
        "last_name": "Roux",
        "birth_date": "1990-02-03",
    }
    assert (await post_form(client, "/register", form)).status_code == 303


async def test_registration_sends_a_confirmation_link_that_works_once(client, services, mailbox) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    email = unique_email("confirm")
    await register(client, email)
    path = link_in(box.wait_for(email))
    assert (
        path.startswith("/account/confirm/") and email.split("@")[0] not in path
    )  # no personal data in the link
    before = head(services)
    assert (await client.get(path)).status_code == 200  # opening the page records nothing
    assert head(services) == before
    done = await post_form(client, path + "/done")
    assert done.status_code == 200
    account = services.app.account_by_email(email)
    assert services.app.identity(account.id).email_confirmed
    before = head(services)
    again = await post_form(client, path + "/done")
    assert again.status_code == 410 and head(services) == before


async def test_a_forged_or_expired_confirmation_link_changes_nothing(client, services, mailbox, now) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    email = unique_email("expired")
    await register(client, email)
    path = link_in(box.wait_for(email))
    before = head(services)
    assert (await post_form(client, "/account/confirm/not-a-real-token/done")).status_code == 410
    services.clock = FixedClock(now + timedelta(days=3))  # the link lives two days
    try:
        assert (await post_form(client, path + "/done")).status_code == 410
    finally:
        from consulta.clock import SystemClock

        services.clock = SystemClock()
    assert head(services) == before
    assert not services.app.identity(services.app.account_by_email(email).id).email_confirmed


async def test_password_reset_by_link(client, services, mailbox) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    email = unique_email("reset")
    await register(client, email)
    box.wait_for(email)
    sent = box.count(email)
    page = await post_form(client, "/password/forgot/send", {"email": email})
    unknown = await post_form(client, "/password/forgot/send", {"email": unique_email("nobody")})
    assert page.status_code == unknown.status_code == 200 and page.text.count("<p") == unknown.text.count(
        "<p"
    )
    path = link_in(box.wait_for(email, after=sent))
    assert path.startswith("/password/reset/")
    before = head(services)
    weak = await post_form(client, path + "/done", {"password": "short"})
    assert weak.status_code == 422 and head(services) == before  # refused, the link still good
    done = await post_form(client, path + "/done", {"password": "a brand new passphrase"})
    assert done.status_code == 303
    wrong = await post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert wrong.status_code == 401
    right = await post_form(client, "/login", {"email": email, "password": "a brand new passphrase"})
    assert right.status_code == 303
    before = head(services)
    reused = await post_form(client, path + "/done", {"password": "yet another passphrase"})
    assert reused.status_code == 410 and head(services) == before


async def test_codes_by_email_as_second_factor(client, services, mailbox) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    email = unique_email("codes")
    await register(client, email)
    await post_form(client, "/account/confirm/" + link_in(box.wait_for(email)).rsplit("/", 1)[1] + "/done")
    assert (await post_form(client, "/account/second-factor/email")).status_code == 303
    sent = box.count(email)
    await post_form(client, "/account/second-factor/send", {"next": "/account"})
    code = code_in(box.wait_for(email, after=sent))
    assert (await post_form(client, "/account/second-factor/code", {"code": "000000"})).status_code == 401
    assert (
        await post_form(client, "/account/second-factor/code", {"code": code, "next": "/account"})
    ).status_code == 303
    await post_form(client, "/logout")
    # Next login: the password, then a code by e-mail; an old code is refused.
    sent = box.count(email)
    first = await post_form(client, "/login", {"email": email, "password": PASSWORD})
    assert first.headers["location"] == "/login/second-factor"
    new_code = code_in(box.wait_for(email, after=sent))
    before = head(services)
    if code != new_code:
        assert (await post_form(client, "/login/code", {"code": code})).status_code == 401
    assert head(services) == before
    assert (await post_form(client, "/login/code", {"code": new_code})).status_code == 303
    assert (await client.get("/account")).status_code == 200
