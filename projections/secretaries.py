"""`secretaries`: which secretary works for which practitioner, the practitioner's inbox, patients' contacts.

Pages list grants and messages from here; whether a secretary may act is
never decided from these rows (the `Grant` aggregate decides, at each command).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg

from consulta.aggregates.account import Profile
from consulta.aggregates.secretariat import Grant, PractitionerMessage

from .base import Projection


class Secretaries(Projection):
    name = "secretaries"
    tables = {
        "secretary_grants": (
            "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, secretary_id uuid NOT NULL,"
            " active boolean NOT NULL, changed_at timestamptz NOT NULL"
        ),
        "practitioner_messages": (
            "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, secretary_id uuid NOT NULL, profile_id uuid,"
            " text text NOT NULL, left_at timestamptz NOT NULL, done_at timestamptz"
        ),
        "profile_contacts": "profile_id uuid PRIMARY KEY, phone text NOT NULL, email text NOT NULL",
        "practice_profiles": "practitioner_id uuid NOT NULL, profile_id uuid NOT NULL, PRIMARY KEY (practitioner_id, profile_id)",
    }
    indexes = (
        "secretary_grants (secretary_id)",
        "secretary_grants (practitioner_id)",
        "practitioner_messages (practitioner_id, left_at)",
        "profile_contacts (phone)",
    )

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave these tables unchanged."""

    @process.register
    def _(self, event: Grant.Granted, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {secretary_grants} (id, practitioner_id, secretary_id, active, changed_at)"
            " VALUES (%s, %s, %s, true, %s)",
            (event.originator_id, event.practitioner_id, event.secretary_id, event.timestamp),
        )

    @process.register
    def _(self, event: Grant.Revoked, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {secretary_grants} SET active = false, changed_at = %s WHERE id = %s",
            (event.timestamp, event.originator_id),
        )

    @process.register
    def _(self, event: Grant.GrantedAgain, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {secretary_grants} SET active = true, changed_at = %s WHERE id = %s",
            (event.timestamp, event.originator_id),
        )

    @process.register
    def _(self, event: PractitionerMessage.Left, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {practitioner_messages} (id, practitioner_id, secretary_id, profile_id, text, left_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                event.originator_id,
                event.practitioner_id,
                event.by,
                event.profile_id,
                event.text,
                event.timestamp,
            ),
        )

    @process.register
    def _(self, event: PractitionerMessage.Done, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {practitioner_messages} SET done_at = %s WHERE id = %s",
            (event.timestamp, event.originator_id),
        )

    @process.register
    def _(self, event: Profile.ContactSet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {profile_contacts} (profile_id, phone, email) VALUES (%s, %s, %s)"
            " ON CONFLICT (profile_id) DO UPDATE SET phone = excluded.phone, email = excluded.email",
            (event.originator_id, event.phone, event.email),
        )

    @process.register
    def _(self, event: Profile.RegisteredAtPractice, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {practice_profiles} (practitioner_id, profile_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (event.practitioner_id, event.originator_id),
        )
