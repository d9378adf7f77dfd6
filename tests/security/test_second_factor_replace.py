"""A new phone: a user who passed their second factor sets up a new authenticator app from /account.

The old app's codes stop passing once the new app has shown a right code; a
session that has not passed the current factor is asked for it first and gets
no new key; a wrong code from the new app changes nothing.
"""

from __future__ import annotations

import re

from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import page_login, practitioner, totp_code, with_totp
from tests.factories import make_patient
from tests.security.helpers import client_for, head, log_in, post_form

KEY = re.compile(r'id="totp-key" readonly value="([A-Z2-7]+)"')


async def test_a_new_phone_replaces_the_app_and_the_old_codes_stop_passing(
    settings: Settings, services: Services
) -> None:
    staff = practitioner(services, services.clock.now(), "practitioner N", "Dr Nina Newphone")
    old_secret = staff.totp_secret
    async with client_for(settings, services) as client:
        await page_login(client, staff)
        account = await client.get("/account")
        assert 'href="/account/second-factor?replace=1"' in account.text
        shown = await client.get("/account/second-factor?replace=1")
        found = KEY.search(shown.text)
        assert found and found.group(1) != old_secret
        assert "elle remplace votre second facteur actuel" in shown.text  # the page speaks French by default

        before = head(services)
        wrong = await post_form(client, "/account/second-factor/code", {"code": totp_code(old_secret)})  # type: ignore[arg-type]
        assert (
            wrong.status_code == 401 and head(services) == before
        )  # the old app's code is not the new one's
        assert KEY.search(wrong.text).group(1) == found.group(1)  # type: ignore[union-attr]  # same key shown again

        done = await post_form(client, "/account/second-factor/code", {"code": totp_code(found.group(1))})
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert head(services) > before

    staff.totp_secret = old_secret
    async with client_for(settings, services) as client:  # the old phone no longer logs in
        first = await post_form(client, "/login", {"email": staff.email, "password": staff.password})
        assert first.headers["location"] == "/login/second-factor"
        assert (await post_form(client, "/login/code", {"code": totp_code(old_secret)})).status_code == 401  # type: ignore[arg-type]
    staff.totp_secret = found.group(1)
    async with client_for(settings, services) as client:  # the new one does
        await page_login(client, staff)
        assert (await client.get("/pro/agenda")).status_code == 200


async def test_without_the_current_factor_passed_no_new_key_is_given(
    settings: Settings, services: Services
) -> None:
    actor, _, email = make_patient(services.app, services.clock.now())
    async with client_for(settings, services) as client:
        assert (await log_in(client, email)).status_code == 303  # no second factor yet: the password alone
        with_totp(services, actor.account_id, services.clock.now())  # set up meanwhile, on another device
        page = await client.get("/account/second-factor?replace=1")
        assert page.status_code == 200 and "totp-key" not in page.text  # the current factor first
        assert 'name="next" value="/account/second-factor?replace=1"' in page.text  # then back here
