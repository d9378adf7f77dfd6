"""`consulta secretary add` creates a secretariat account; practitioners then grant it."""

from __future__ import annotations

from click.testing import CliRunner

from consulta.cli import main
from tests.factories import unique_email


def test_secretary_add(database_url, services) -> None:  # type: ignore[no-untyped-def]
    email = unique_email("Sec")
    env = {
        "DATABASE_URL": database_url,
        "CONSULTA_SECRET_KEY": "",
        "CONSULTA_SECRETARY_PASSWORD": "a long enough password",
    }
    result = CliRunner().invoke(main, ["secretary", "add", "--email", email], env=env)
    assert result.exit_code == 0, result.output
    account = services.app.account_by_email(email)
    assert account.role == "secretary"
    again = CliRunner().invoke(main, ["secretary", "add", "--email", email], env=env)
    assert again.exit_code != 0 and "already" in again.stderr
