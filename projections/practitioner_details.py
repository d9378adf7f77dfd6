"""`practitioner_details`: RPPS number, languages and whether video is offered, per practitioner.

The directory keeps name, specialty, city and address (it follows
`Practitioner.Described` too); these columns are the rest of the profile page.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg

from consulta.aggregates.practitioner import Practitioner

from .base import Projection


class PractitionerDetails(Projection):
    name = "practitioner_details"
    tables = {
        "practitioner_details": (
            "practitioner_id uuid PRIMARY KEY, rpps text NOT NULL, languages text[] NOT NULL,"
            " video_offered boolean NOT NULL, updated_at timestamptz NOT NULL"
        ),
    }

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave the table unchanged."""

    @process.register
    def _(self, event: Practitioner.Described, cur: psycopg.Cursor[Any]) -> None:
        d = event.details
        self.execute(
            cur,
            "INSERT INTO {practitioner_details} (practitioner_id, rpps, languages, video_offered, updated_at)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (practitioner_id) DO UPDATE SET rpps = excluded.rpps,"
            " languages = excluded.languages, video_offered = excluded.video_offered,"
            " updated_at = excluded.updated_at",
            (event.originator_id, d["rpps"], d["languages"], d["video_offered"], event.timestamp),
        )
