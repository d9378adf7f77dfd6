"""`practitioner_directory`: who practises what, where, with which motifs and hours.

Feeds the search page, the practitioner page and slot computation (the agenda
rules are stored as the same JSON the Practitioner aggregate keeps).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from consulta.aggregates.practitioner import Practitioner

from .base import Projection

_REFRESH_VIDEO = (
    "UPDATE {practitioners} p SET video = p.has_video_hours AND EXISTS ("
    " SELECT 1 FROM {practitioner_motifs} m WHERE m.practitioner_id = p.id"
    " AND 'video' = ANY(m.modes) AND m.online) WHERE p.id = %s"
)


class PractitionerDirectory(Projection):
    name = "practitioner_directory"
    tables = {
        "practitioners": (
            "id uuid PRIMARY KEY, account_id uuid NOT NULL, name text NOT NULL, specialty text NOT NULL,"
            " city text NOT NULL, address text NOT NULL, timezone text NOT NULL, policy jsonb NOT NULL,"
            " hours jsonb NOT NULL DEFAULT '[]', reserved jsonb NOT NULL DEFAULT '[]',"
            " has_video_hours boolean NOT NULL DEFAULT false, video boolean NOT NULL DEFAULT false,"
            " registered_at timestamptz NOT NULL"
        ),
        "practitioner_motifs": (
            "practitioner_id uuid NOT NULL, motif_id text NOT NULL, name text NOT NULL,"
            " duration_minutes int NOT NULL, modes text[] NOT NULL, online boolean NOT NULL,"
            " new_patients boolean NOT NULL, position int NOT NULL,"
            " PRIMARY KEY (practitioner_id, motif_id)"
        ),
    }
    indexes = ("practitioners (lower(city))", "practitioners (lower(specialty))")

    @singledispatchmethod
    def process(self, event: Any, cur: psycopg.Cursor[Any]) -> None:
        """Other events leave these tables unchanged."""

    @process.register
    def _(self, event: Practitioner.Registered, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "INSERT INTO {practitioners} (id, account_id, name, specialty, city, address, timezone,"
            " policy, registered_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                event.originator_id,
                event.account_id,
                event.name,
                event.specialty,
                event.city,
                event.address,
                event.policy["timezone"],
                Jsonb(event.policy),
                event.timestamp,
            ),
        )

    @process.register
    def _(self, event: Practitioner.OpeningHoursSet, cur: psycopg.Cursor[Any]) -> None:
        has_video = any(h["place"] == "video" for h in event.hours)
        self.execute(
            cur,
            "UPDATE {practitioners} SET hours = %s, has_video_hours = %s WHERE id = %s",
            (Jsonb(event.hours), has_video, event.originator_id),
        )
        self.execute(cur, _REFRESH_VIDEO, (event.originator_id,))

    @process.register
    def _(self, event: Practitioner.MotifSaved, cur: psycopg.Cursor[Any]) -> None:
        m = event.motif
        self.execute(
            cur,
            "INSERT INTO {practitioner_motifs} (practitioner_id, motif_id, name, duration_minutes, modes,"
            " online, new_patients, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (practitioner_id, motif_id) DO UPDATE SET name = excluded.name,"
            " duration_minutes = excluded.duration_minutes, modes = excluded.modes,"
            " online = excluded.online, new_patients = excluded.new_patients",
            (
                event.originator_id,
                m["id"],
                m["name"],
                m["duration_minutes"],
                m["modes"],
                m["online"],
                m["new_patients"],
                event.originator_version,
            ),
        )
        self.execute(cur, _REFRESH_VIDEO, (event.originator_id,))

    @process.register
    def _(self, event: Practitioner.ReservedPeriodsSet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {practitioners} SET reserved = %s WHERE id = %s",
            (Jsonb(event.periods), event.originator_id),
        )

    @process.register
    def _(self, event: Practitioner.PolicySet, cur: psycopg.Cursor[Any]) -> None:
        self.execute(
            cur,
            "UPDATE {practitioners} SET policy = %s, timezone = %s WHERE id = %s",
            (Jsonb(event.policy), event.policy["timezone"], event.originator_id),
        )

    @process.register
    def _(self, event: Practitioner.Described, cur: psycopg.Cursor[Any]) -> None:
        d = event.details
        self.execute(
            cur,
            "UPDATE {practitioners} SET name = %s, specialty = %s, city = %s, address = %s WHERE id = %s",
            (d["name"], d["specialty"], d["city"], d["address"], event.originator_id),
        )
