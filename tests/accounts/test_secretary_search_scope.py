"""A secretary's patient search: the practice's own patients by name, birth date or phone;
anyone else on the platform only by exact last name and birth date together."""

from __future__ import annotations

from tests.accounts.test_secretaries import logged_in


async def test_a_stranger_is_found_only_by_exact_last_name_and_birth_date(settings, services, world) -> None:  # type: ignore[no-untyped-def]
    # Bruno Blanc is Y's patient, Anne Aubert X's; both were born on 1984-03-09. The secretary works for X.
    stranger = services.app.get_profile(world.patient_b.profile_id)
    stranger.set_contact("0611223344", "", world.patient_b.actor.account_id)
    services.wait_for(services.app.save(stranger)[-1].notification.id)
    client = await logged_in(settings, services, world.secretary_x)
    try:
        searches = {
            "birth date alone": {"birth_date": "1984-03-09"},
            "phone alone": {"phone": "06 11 22 33 44"},
            "an initial and the birth date": {"name": "B", "birth_date": "1984-03-09"},
            "part of the full name and the birth date": {"name": "Bruno Bl", "birth_date": "1984-03-09"},
            "last name alone": {"name": "Blanc"},
            "last name and another birth date": {"name": "Blanc", "birth_date": "1984-03-08"},
            "last name and birth date": {"name": "blanc", "birth_date": "1984-03-09"},
        }
        pages = {}
        for what, params in searches.items():
            response = await client.get("/sec/patients", params=params)
            assert response.status_code == 200
            pages[what] = response.text
        bruno = f"/sec/patients/{world.patient_b.profile_id}/book"  # the link a result carries
        assert {what for what, text in pages.items() if bruno in text} == {"last name and birth date"}
        # The practice's own patient is still found by birth date alone, or by part of the name with it.
        anne = f"/sec/patients/{world.patient_a.profile_id}/book"
        assert anne in pages["birth date alone"]
        assert anne in (await client.get("/sec/patients", params={"name": "Aub", "birth_date": "1984-03-09"})).text
    finally:
        await client.__aexit__(None, None, None)
