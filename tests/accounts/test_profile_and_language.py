"""The practitioner's profile, and the language a user chose, kept on the account."""

from __future__ import annotations

from tests.accounts.conftest import head
from tests.accounts.principals import page_login, post_form


async def test_practitioner_profile_is_saved_and_checked(client, services, world) -> None:  # type: ignore[no-untyped-def]
    x = world.practitioner_x
    await page_login(client, x)
    form = {"name": "Dr Xavier Morel", "specialty": "Pédiatre", "city": "Lyon", "address": "3 place Bellecour",
            "rpps": "10101010101", "languages": "fr, en, es", "video_offered": "on"}  # fmt: skip
    before = head(services)
    bad = await post_form(client, "/pro/profile/save", {**form, "rpps": "12345"})
    assert bad.status_code == 422 and head(services) == before
    assert (await post_form(client, "/pro/profile/save", form)).status_code == 303
    page = await client.get("/pro/profile")
    assert "10101010101" in page.text and "en, es, fr" in page.text and "checked" in page.text
    card = services.reads.practitioner(x.practitioner_id)
    assert card.specialty == "Pédiatre" and card.address == "3 place Bellecour"
    found = await client.get("/api/v1/practitioners", params={"specialty": "Pédiatre"})
    assert [p["name"] for p in found.json()["items"]] == ["Dr Xavier Morel"]


async def test_the_language_is_remembered_on_the_account(client, services, world) -> None:  # type: ignore[no-untyped-def]
    b = world.patient_b
    await page_login(client, b)
    await post_form(client, "/language", {"lang": "en", "next": "/account"})
    assert services.app.identity(b.actor.account_id).language == "en"
    await post_form(client, "/logout")
    client.cookies.clear()
    await client.get("/")
    await page_login(client, b)
    assert client.cookies.get("lang") == "en"
    page = await client.get("/account")
    assert "My account" in page.text and 'lang="en"' in page.text
