"""The account rules in the domain, given/when/then, on an in-memory event store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consulta.aggregates.errors import ForbiddenError, InvalidInputError
from consulta.aggregates.family import age_on, checked_phone, checked_practitioner_details
from consulta.aggregates.identity import CodeInvalidError, OneTimeToken, TokenInvalidError
from consulta.application import Actor, Consulta
from consulta.identity import TOTP_STEP, totp_step

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def app() -> Iterator[Consulta]:
    application = Consulta(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


def patient(app: Consulta, email: str = "p@example.org") -> Actor:
    return Actor(app.register_patient(email, PASSWORD, "Ana", "Lopez", date(1980, 1, 1), NOW).id, "patient")


def test_a_token_is_good_once_for_its_purpose_until_it_expires(app: Consulta) -> None:
    actor = patient(app)
    token, _ = app.request_email_confirmation(actor.account_id, NOW)
    with pytest.raises(TokenInvalidError):
        app.reset_password(token, "another good password", NOW)  # another purpose
    with pytest.raises(TokenInvalidError):
        app.confirm_email(token, NOW + timedelta(days=2))  # expired
    app.confirm_email(token, NOW + timedelta(hours=1))
    assert app.identity(actor.account_id).email_confirmed
    with pytest.raises(TokenInvalidError):
        app.confirm_email(token, NOW + timedelta(hours=1))  # used


def test_the_token_itself_is_not_stored(app: Consulta) -> None:
    actor = patient(app)
    token, _ = app.request_email_confirmation(actor.account_id, NOW)
    stored = app.repository.get(OneTimeToken.id_for(token))
    assert token not in repr(vars(stored))
    events = list(app.events.get(OneTimeToken.id_for(token)))
    assert all(token not in repr(vars(e)) for e in events)


def test_totp_codes_are_accepted_once_within_one_step_of_now(app: Consulta) -> None:
    actor = patient(app)
    secret = app.new_totp_secret()
    totp = pyotp.TOTP(secret)
    with pytest.raises(CodeInvalidError):
        app.enable_totp(actor.account_id, secret, "123456" if totp.at(NOW) != "123456" else "654321", NOW)
    app.enable_totp(actor.account_id, secret, totp.at(NOW - timedelta(seconds=TOTP_STEP)), NOW)
    app.verify_totp(actor.account_id, totp.at(NOW), NOW)
    with pytest.raises(CodeInvalidError):
        app.verify_totp(actor.account_id, totp.at(NOW), NOW)  # the same code again
    with pytest.raises(CodeInvalidError):
        app.verify_totp(actor.account_id, totp.at(NOW - timedelta(seconds=TOTP_STEP)), NOW)  # older
    with pytest.raises(CodeInvalidError):
        app.verify_totp(actor.account_id, totp.at(NOW + timedelta(minutes=5)), NOW)  # too far ahead
    app.verify_totp(actor.account_id, totp.at(NOW + timedelta(seconds=TOTP_STEP)), NOW)
    assert app.identity(actor.account_id).last_totp_step == totp_step(NOW) + 1


def test_email_codes_need_a_confirmed_address_and_are_good_once(app: Consulta) -> None:
    actor = patient(app)
    with pytest.raises(InvalidInputError):
        app.enable_email_codes(actor.account_id, NOW)
    token, _ = app.request_email_confirmation(actor.account_id, NOW)
    app.confirm_email(token, NOW)
    app.enable_email_codes(actor.account_id, NOW)
    challenge, code = app.send_email_code(actor.account_id, NOW)
    other = patient(app, "q@example.org")
    with pytest.raises(CodeInvalidError):
        app.verify_email_code(other.account_id, challenge, code, NOW)  # another account's code
    with pytest.raises(CodeInvalidError):
        app.verify_email_code(actor.account_id, challenge, code, NOW + timedelta(minutes=11))
    app.verify_email_code(actor.account_id, challenge, code, NOW)
    with pytest.raises(CodeInvalidError):
        app.verify_email_code(actor.account_id, challenge, code, NOW)


def test_hand_over_from_15_and_the_former_manager_loses_the_profile(app: Consulta) -> None:
    parent = patient(app)
    young = app.add_profile(parent, "Léa", "Lopez", date(2015, 1, 1), NOW).id
    teen = app.add_profile(parent, "Hugo", "Lopez", date(2011, 5, 4), NOW).id  # 15 today
    with pytest.raises(InvalidInputError):
        app.invite_to_take_over(parent, young, NOW)
    token, _ = app.invite_to_take_over(parent, teen, NOW)
    stranger = patient(app, "s@example.org")
    with pytest.raises(ForbiddenError):
        app.invite_to_take_over(stranger, teen, NOW)
    teenager = app.register_and_claim(token, "hugo@example.org", PASSWORD, NOW)
    assert app.get_profile(teen).manager_id == teenager.id
    assert app.get_account(teenager.id).profile_id == teen
    with pytest.raises(ForbiddenError):
        app.invite_to_take_over(parent, teen, NOW)
    with pytest.raises(TokenInvalidError):
        app.claim_profile(stranger, token, NOW)


def test_an_invitation_is_void_once_the_profile_changed_hands(app: Consulta) -> None:
    parent = patient(app)
    teen = app.add_profile(parent, "Hugo", "Lopez", date(2000, 5, 4), NOW).id
    first, _ = app.invite_to_take_over(parent, teen, NOW)
    second, _ = app.invite_to_take_over(parent, teen, NOW)
    app.claim_profile(patient(app, "a@example.org"), first, NOW)
    with pytest.raises(InvalidInputError):
        app.claim_profile(patient(app, "b@example.org"), second, NOW)


def test_secretary_grants_are_checked_from_the_aggregate(app: Consulta) -> None:
    outcome = app.add_practitioner("dr@example.org", PASSWORD, "Dr A", "GP", "Lyon", NOW)
    doctor = Actor(app.get_practitioner(outcome.id).account_id, "practitioner", outcome.id)
    secretary = app.add_secretary("sec@example.org", PASSWORD, NOW).id
    with pytest.raises(ForbiddenError):
        app.secretary_actor(secretary, outcome.id)
    with pytest.raises(InvalidInputError):
        app.grant_secretary(doctor, "p@example.org" if patient(app) else "", NOW)  # a patient account
    app.grant_secretary(doctor, "sec@example.org", NOW)
    working = app.secretary_actor(secretary, outcome.id)
    message = app.leave_message(working, outcome.id, "Call Mrs B.", None, NOW).id
    with pytest.raises(ForbiddenError):
        app.mark_message_done(working, message, NOW)  # secretaries do not close the practitioner's messages
    app.revoke_secretary(doctor, secretary, NOW)
    with pytest.raises(ForbiddenError):
        app.secretary_actor(secretary, outcome.id)
    assert app.grant_secretary(doctor, "sec@example.org", NOW).created
    assert app.is_granted(secretary, outcome.id)


def test_practice_profiles_and_details_are_checked() -> None:
    assert checked_phone("06 12.34-56 78") == "0612345678" and checked_phone("") == ""
    with pytest.raises(InvalidInputError):
        checked_phone("call me")
    details = checked_practitioner_details(
        {
            "name": "Dr A",
            "specialty": "GP",
            "city": "Lyon",
            "rpps": "101 0101 0101",
            "languages": ["FR", "en"],
        }
    )
    assert details["rpps"] == "10101010101" and details["languages"] == ["en", "fr"]
    for bad in ({"rpps": "123"}, {"languages": ["french"]}, {"name": ""}):
        with pytest.raises(InvalidInputError):
            checked_practitioner_details({"name": "Dr A", "specialty": "GP", "city": "Lyon", **bad})
    assert (
        age_on(date(2011, 5, 5), date(2026, 5, 4)) == 14 and age_on(date(2011, 5, 4), date(2026, 5, 4)) == 15
    )


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(["use", "late", "wrong-purpose"]), min_size=1, max_size=8))
def test_whatever_the_attempts_a_token_is_used_at_most_once(attempts: list[str]) -> None:
    app = Consulta(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        actor = patient(app)
        token, _ = app.request_email_confirmation(actor.account_id, NOW)
        successes = 0
        for attempt in attempts:
            try:
                if attempt == "use":
                    app.confirm_email(token, NOW)
                elif attempt == "late":
                    app.confirm_email(token, NOW + timedelta(days=3))
                else:
                    app.reset_password(token, "a fine new password", NOW)
                successes += 1
            except TokenInvalidError:
                pass
        assert successes == (1 if "use" in attempts else 0)
        reloaded = app.repository.get(OneTimeToken.id_for(token))
        assert reloaded.used == ("use" in attempts)
    finally:
        app.close()
