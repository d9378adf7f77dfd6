"""`accounts`: who has an account, in which role, with a confirmed e-mail, a second factor, a language.

Read by the account pages and the secretary pages (a secretary's name is
their e-mail). Identity events name the identity; the row is found by the
identity id recorded when it opened.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg

from consulta.aggregates.account import Account
from consulta.aggregates.identity import Identity

from .base import Projection


class Accounts(Projection):
    name = "accounts"
    tables = {
        "accounts": (
            "id uuid PRIMARY KEY, identity_id uuid UNIQUE, email text NOT NULL, role text NOT NULL,"
            " practitioner_id uuid, profile_id uuid, email_confirmed boolean NOT NULL DEFAULT false,"
            " second_factor text, language text, registered_at timestamptz NOT NULL"
        ),
    }
    indexes = ("accounts (practitioner_id)",)

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave the table unchanged."""

    @process.register
    def _(self, event: Account.Registered, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {accounts} (id, email, role, profile_id, registered_at) VALUES (%s, %s, %s, %s, %s)",
            (event.originator_id, event.email, event.role, event.profile_id, event.timestamp),
        )

    @process.register
    def _(self, event: Account.PractitionerLinked, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {accounts} SET practitioner_id = %s WHERE id = %s",
            (event.practitioner_id, event.originator_id),
        )

    @process.register
    def _(self, event: Identity.Opened, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {accounts} SET identity_id = %s WHERE id = %s",
            (event.originator_id, event.account_id),
        )

    @process.register
    def _(self, event: Identity.EmailConfirmed, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur, "UPDATE {accounts} SET email_confirmed = true WHERE identity_id = %s", (event.originator_id,)
        )

    @process.register
    def _(self, event: Identity.TotpEnabled, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur, "UPDATE {accounts} SET second_factor = 'totp' WHERE identity_id = %s", (event.originator_id,)
        )

    @process.register
    def _(self, event: Identity.EmailCodesEnabled, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {accounts} SET second_factor = 'email' WHERE identity_id = %s",
            (event.originator_id,),
        )

    @process.register
    def _(self, event: Identity.LanguageChosen, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {accounts} SET language = %s WHERE identity_id = %s",
            (event.language, event.originator_id),
        )
