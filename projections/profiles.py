"""`profiles`: the people appointments are for, and the account that manages each."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg

from consulta.aggregates.account import Profile

from .base import Projection


class Profiles(Projection):
    name = "profiles"
    tables = {
        "profiles": (
            "id uuid PRIMARY KEY, manager_id uuid, first_name text NOT NULL, last_name text NOT NULL,"
            " birth_date date NOT NULL, created_at timestamptz NOT NULL"
        ),
    }
    indexes = ("profiles (manager_id)", "profiles (lower(last_name), birth_date)")

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave these tables unchanged."""

    @process.register
    def _(self, event: Profile.Created, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {profiles} (id, manager_id, first_name, last_name, birth_date, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                event.originator_id,
                event.manager_id,
                event.first_name,
                event.last_name,
                event.birth_date,
                event.timestamp,
            ),
        )

    @process.register
    def _(self, event: Profile.ManagerChanged, cur: psycopg.Cursor[Any]) -> None:
        """A hand-over or a claim: the new manager sees the profile, the former one no longer does."""
        self.execute(
            cur,
            "UPDATE {profiles} SET manager_id = %s WHERE id = %s",
            (event.manager_id, event.originator_id),
        )
