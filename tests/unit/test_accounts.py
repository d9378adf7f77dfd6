"""Accounts through the in-memory application: e-mails unique, passwords checked."""

from __future__ import annotations

from datetime import date

import pytest

from consulta.aggregates.account import EmailIndex, normalise_email
from consulta.aggregates.errors import AuthenticationError, EmailTakenError, InvalidInputError
from tests.unit.helpers import NOW, memory_app

PASSWORD = "correct horse battery"


def test_registered_patient_logs_in_with_any_case_of_email():
    app = memory_app()
    outcome = app.register_patient("Alice@Example.org", PASSWORD, "Alice", "Durand", date(1985, 5, 17), NOW)
    account = app.authenticate("  alice@example.ORG ", PASSWORD)
    assert account.id == outcome.id and account.role == "patient"
    assert app.get_profile(account.profile_id).full_name == "Alice Durand"


def test_email_taken_in_any_case_and_nothing_recorded():
    app = memory_app()
    app.register_patient("alice@example.org", PASSWORD, "Alice", "Durand", date(1985, 5, 17), NOW)
    before = app.recorder.max_notification_id()
    with pytest.raises(EmailTakenError):
        app.register_patient("ALICE@example.org", PASSWORD, "Eve", "Martin", date(1990, 1, 1), NOW)
    with pytest.raises(EmailTakenError):
        app.add_practitioner("alice@example.org", PASSWORD, "Dr Eve", "GP", "Lyon", NOW)
    assert app.recorder.max_notification_id() == before


def test_wrong_password_and_unknown_email_fail_alike():
    app = memory_app()
    app.register_patient("alice@example.org", PASSWORD, "Alice", "Durand", date(1985, 5, 17), NOW)
    for email, password in (
        ("alice@example.org", "wrong password!"),
        ("bob@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ):
        with pytest.raises(AuthenticationError) as refused:
            app.authenticate(email, password)
        assert str(refused.value) == "wrong e-mail or password"


@pytest.mark.parametrize(
    ("email", "password", "birth"),
    [
        ("nope", PASSWORD, date(1985, 1, 1)),
        ("a@example.org", "short", date(1985, 1, 1)),
        ("a@example.org", PASSWORD, date(2027, 1, 1)),
        ("a@example.org", PASSWORD, date(1850, 1, 1)),
    ],
)
def test_bad_registration_is_refused_and_records_nothing(email, password, birth):
    app = memory_app()
    with pytest.raises(InvalidInputError):
        app.register_patient(email, password, "Alice", "Durand", birth, NOW)
    assert app.recorder.max_notification_id() in (None, 0)


def test_email_index_id_ignores_case_and_spaces():
    assert EmailIndex.id_for(" A@Example.org") == EmailIndex.id_for("a@example.org")
    assert normalise_email(" A@Example.org ") == "a@example.org"


def test_practitioner_account_is_linked_to_its_agenda():
    app = memory_app()
    outcome = app.add_practitioner("dr@example.org", PASSWORD, "Dr Claire", "GP", "Lyon", NOW)
    account = app.authenticate("dr@example.org", PASSWORD)
    assert (account.role, account.practitioner_id) == ("practitioner", outcome.id)
