"""Queries over the read models: what the pages and the API show.

Free slots are computed here from the directory's rules (the same
`AgendaRules` the booking command uses) minus the agenda's appointments,
blocks and live holds, so a page never offers what the command would refuse
for a reason the read model knows about.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from consulta.aggregates.rules import AgendaRules, Slot


class _Busy:
    """Busy intervals sorted by start: a slot is compared with the few that can overlap it, not all.

    Instants are kept as POSIX timestamps: comparing aware datetimes of different
    zones asks both for their UTC offset, and a page compares thousands.
    """

    def __init__(self, intervals: list[tuple[datetime, datetime]]) -> None:
        spans = sorted((s.timestamp(), e.timestamp()) for s, e in intervals)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.longest = max((e - s for s, e in spans), default=0.0)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        a, b = start.timestamp(), end.timestamp()
        # Intervals starting at or before a - longest end by a; those from b on start too late.
        lo = bisect_right(self.starts, a - self.longest)
        hi = bisect_left(self.starts, b)
        return any(self.ends[i] > a for i in range(lo, hi))


@dataclass(frozen=True)
class PractitionerCard:
    id: UUID
    name: str
    specialty: str
    city: str
    address: str
    timezone: str
    video: bool
    motifs: list[dict[str, Any]]
    rules: AgendaRules


class ReadModels:
    """One connection pool for reads; every query names its tables in the read schema."""

    def __init__(self, conninfo: str, schema: str, pool_size: int = 5) -> None:
        self.schema = schema
        self._rendered: dict[str, str] = {}
        self.pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=True,
        )

    def close(self) -> None:
        self.pool.close()

    def _q(self, statement: str, params: Any = None) -> list[dict[str, Any]]:
        names = {
            "practitioners", "practitioner_motifs", "profiles", "agenda_appointments",
            "agenda_blocks", "agenda_holds", "patient_appointments", "projection_positions",
        }  # fmt: skip
        with self.pool.connection() as conn:
            query = self._rendered.get(statement)
            if query is None:  # compose each statement once: composing costs more than a small query
                composed = sql.SQL(statement).format(
                    **{n: sql.Identifier(self.schema, n) for n in names if "{" + n + "}" in statement}
                )
                query = self._rendered[statement] = composed.as_string(conn)
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()

    # -- directory -------------------------------------------------------

    def search_practitioners(
        self, q: str = "", specialty: str = "", city: str = "", video: bool | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        rows = self._q(
            "SELECT id, name, specialty, city, address, timezone, video FROM {practitioners}"
            " WHERE (%(q)s = '' OR name ILIKE %(ql)s OR specialty ILIKE %(ql)s OR city ILIKE %(ql)s)"
            " AND (%(specialty)s = '' OR lower(specialty) = lower(%(specialty)s))"
            " AND (%(city)s = '' OR lower(city) = lower(%(city)s))"
            " AND (%(video)s::boolean IS NULL OR video = %(video)s::boolean)"
            " ORDER BY name, id LIMIT %(limit)s",
            {
                "q": q,
                "ql": f"%{_like_escape(q)}%",
                "specialty": specialty,
                "city": city,
                "video": video,
                "limit": limit,
            },
        )
        motifs = self._motifs([r["id"] for r in rows])
        return [{**r, "motifs": motifs.get(r["id"], [])} for r in rows]

    def _motifs(self, ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
        if not ids:
            return {}
        out: dict[UUID, list[dict[str, Any]]] = {}
        for m in self._q(
            "SELECT practitioner_id, motif_id AS id, name, duration_minutes, modes, online, new_patients"
            " FROM {practitioner_motifs} WHERE practitioner_id = ANY(%s) ORDER BY position, motif_id",
            (ids,),
        ):
            out.setdefault(m.pop("practitioner_id"), []).append(m)
        return out

    def practitioner(self, practitioner_id: UUID) -> PractitionerCard | None:
        rows = self._q("SELECT * FROM {practitioners} WHERE id = %s", (practitioner_id,))
        if not rows:
            return None
        row = rows[0]
        motifs = self._motifs([practitioner_id]).get(practitioner_id, [])
        rules = AgendaRules.from_data(row["policy"], row["hours"], motifs, row["reserved"])
        return PractitionerCard(
            id=row["id"],
            name=row["name"],
            specialty=row["specialty"],
            city=row["city"],
            address=row["address"],
            timezone=row["timezone"],
            video=row["video"],
            motifs=motifs,
            rules=rules,
        )

    def specialties_and_cities(self) -> tuple[list[str], list[str]]:
        specialties = [
            r["s"] for r in self._q("SELECT DISTINCT specialty AS s FROM {practitioners} ORDER BY 1")
        ]
        cities = [r["c"] for r in self._q("SELECT DISTINCT city AS c FROM {practitioners} ORDER BY 1")]
        return specialties, cities

    # -- agenda ----------------------------------------------------------

    def busy_intervals(
        self, practitioner_id: UUID, start: datetime, end: datetime, now: datetime
    ) -> list[tuple[datetime, datetime]]:
        return [(r["starts_at"], r["ends_at"]) for r in self._busy_rows(practitioner_id, start, end, now)]

    def _busy_rows(
        self, practitioner_id: UUID, start: datetime, end: datetime, now: datetime
    ) -> list[dict[str, Any]]:
        """Busy intervals; `until` is a live hold's expiry (None for appointments and blocks)."""
        return self._q(
            "SELECT starts_at, ends_at, NULL::timestamptz AS until FROM {agenda_appointments}"
            " WHERE practitioner_id = %(p)s"
            " AND status <> 'cancelled' AND starts_at < %(end)s AND ends_at > %(start)s"
            " UNION ALL SELECT starts_at, ends_at, NULL FROM {agenda_blocks} WHERE practitioner_id = %(p)s"
            " AND starts_at < %(end)s AND ends_at > %(start)s"
            " UNION ALL SELECT starts_at, ends_at, held_until FROM {agenda_holds} WHERE practitioner_id = %(p)s"
            " AND held_until > %(now)s AND starts_at < %(end)s AND ends_at > %(start)s",
            {"p": practitioner_id, "start": start, "end": end, "now": now},
        )

    def free_slots(
        self,
        card: PractitionerCard,
        motif_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        mode: str | None = None,
        staff: bool = False,
        limit: int = 500,
        expiries: list[datetime] | None = None,
    ) -> list[Slot]:
        """Slots of one motif in [start, end) that the booking command would accept now.

        `expiries`, when given, receives the end of each live hold found: the answer can
        change at those instants without the read model moving (consulta.projections.cached).
        """
        rules = card.rules
        policy = rules.policy
        motif = rules.motif(motif_id)
        if not staff:
            if not motif.online:
                return []
            start = max(start, now + timedelta(minutes=policy.min_notice_minutes))
            end = min(end, now + timedelta(days=policy.horizon_days))
        else:
            start = max(start, now)
        if start >= end:
            return []
        rows = self._busy_rows(card.id, start, end, now)
        if expiries is not None:
            expiries.extend(r["until"] for r in rows if r["until"] is not None)
        busy = _Busy([(r["starts_at"], r["ends_at"]) for r in rows])
        video_cap = policy.video_daily_cap
        video_counts = self._video_counts(card, start, end) if video_cap is not None else {}
        slots: list[Slot] = []
        day = rules.local_day(start)
        last = rules.local_day(end)
        while day <= last and len(slots) < limit:
            for slot in rules.slots_on(day, motif_id, mode):
                if not start <= slot.starts_at < end:
                    continue
                if busy.overlaps(slot.starts_at, slot.ends_at):
                    continue
                if slot.mode == "video" and video_cap is not None and video_counts.get(day, 0) >= video_cap:
                    continue
                slots.append(slot)
                if len(slots) >= limit:
                    break
            day += timedelta(days=1)
        return slots

    def _video_counts(self, card: PractitionerCard, start: datetime, end: datetime) -> dict[date, int]:
        counts: dict[date, int] = {}
        lo, hi = start - timedelta(days=1), end + timedelta(days=1)
        for r in self._q(
            "SELECT starts_at FROM {agenda_appointments} WHERE practitioner_id = %s AND mode = 'video'"
            " AND status = 'booked' AND starts_at >= %s AND starts_at < %s",
            (card.id, lo, hi),
        ):
            day = card.rules.local_day(r["starts_at"])
            counts[day] = counts.get(day, 0) + 1
        return counts

    def agenda(
        self, practitioner_id: UUID, start: datetime, end: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Appointments (with the patient's name) and blocks in [start, end), for staff pages."""
        appointments = self._q(
            "SELECT a.*, p.first_name, p.last_name, p.birth_date, m.name AS motif_name"
            " FROM {agenda_appointments} a LEFT JOIN {profiles} p ON p.id = a.profile_id"
            " LEFT JOIN {practitioner_motifs} m ON m.practitioner_id = a.practitioner_id"
            " AND m.motif_id = a.motif_id"
            " WHERE a.practitioner_id = %s AND a.starts_at < %s AND a.ends_at > %s ORDER BY a.starts_at",
            (practitioner_id, end, start),
        )
        blocks = self._q(
            "SELECT block_id, min(starts_at) AS starts_at, max(ends_at) AS ends_at FROM {agenda_blocks}"
            " WHERE practitioner_id = %s AND starts_at < %s AND ends_at > %s GROUP BY block_id"
            " ORDER BY 2",
            (practitioner_id, end, start),
        )
        return {"appointments": appointments, "blocks": blocks}

    def block_extent(self, practitioner_id: UUID, block_id: UUID) -> tuple[datetime, datetime] | None:
        rows = self._q(
            "SELECT min(starts_at) AS s, max(ends_at) AS e FROM {agenda_blocks}"
            " WHERE practitioner_id = %s AND block_id = %s",
            (practitioner_id, block_id),
        )
        return (rows[0]["s"], rows[0]["e"]) if rows and rows[0]["s"] else None

    # -- patients --------------------------------------------------------

    def appointments_of_account(self, account_id: UUID) -> list[dict[str, Any]]:
        return self._q(
            "SELECT a.*, p.first_name, p.last_name, d.name AS practitioner_name, d.specialty, d.city,"
            " d.address, d.timezone, m.name AS motif_name"
            " FROM {patient_appointments} a JOIN {profiles} p ON p.id = a.profile_id"
            " JOIN {practitioners} d ON d.id = a.practitioner_id"
            " LEFT JOIN {practitioner_motifs} m ON m.practitioner_id = a.practitioner_id"
            " AND m.motif_id = a.motif_id"
            " WHERE p.manager_id = %s ORDER BY a.starts_at DESC",
            (account_id,),
        )

    def appointment_for_account(self, account_id: UUID, appointment_id: UUID) -> dict[str, Any] | None:
        rows = [r for r in self.appointments_of_account(account_id) if r["id"] == appointment_id]
        return rows[0] if rows else None

    def profiles_of_account(self, account_id: UUID) -> list[dict[str, Any]]:
        return self._q("SELECT * FROM {profiles} WHERE manager_id = %s ORDER BY created_at", (account_id,))

    # -- staff lookups (pages of the practitioner) ---------------------------

    def agenda_appointment(self, practitioner_id: UUID, appointment_id: UUID) -> dict[str, Any] | None:
        """One appointment of a practitioner's agenda, with the patient's name."""
        rows = self._q(
            "SELECT a.*, p.first_name, p.last_name, p.birth_date, m.name AS motif_name"
            " FROM {agenda_appointments} a LEFT JOIN {profiles} p ON p.id = a.profile_id"
            " LEFT JOIN {practitioner_motifs} m ON m.practitioner_id = a.practitioner_id"
            " AND m.motif_id = a.motif_id WHERE a.practitioner_id = %s AND a.id = %s",
            (practitioner_id, appointment_id),
        )
        return rows[0] if rows else None

    def patients_of_practitioner(
        self, practitioner_id: UUID, name: str = "", limit: int = 30
    ) -> list[dict[str, Any]]:
        """Profiles that already had an appointment with this practitioner, optionally matching a name."""
        return self._q(
            "SELECT p.id, p.first_name, p.last_name, p.birth_date FROM {profiles} p"
            " WHERE EXISTS (SELECT 1 FROM {agenda_appointments} a WHERE a.practitioner_id = %(p)s"
            " AND a.profile_id = p.id)"
            " AND (%(n)s = '' OR p.last_name ILIKE %(nl)s OR p.first_name ILIKE %(nl)s"
            " OR (p.first_name || ' ' || p.last_name) ILIKE %(nl)s)"
            " ORDER BY lower(p.last_name), lower(p.first_name), p.id LIMIT %(limit)s",
            {"p": practitioner_id, "n": name, "nl": f"%{_like_escape(name)}%", "limit": limit},
        )

    def profiles_by_name_and_birth(
        self, last_name: str, birth_date: date, limit: int = 10
    ) -> list[dict[str, Any]]:
        """Exact last name and birth date: how staff find a patient new to them without browsing everyone."""
        return self._q(
            "SELECT id, first_name, last_name, birth_date FROM {profiles}"
            " WHERE lower(last_name) = lower(%s) AND birth_date = %s ORDER BY first_name, id LIMIT %s",
            (" ".join(last_name.split()), birth_date, limit),
        )

    def positions(self) -> dict[str, int]:
        return {
            r["name"]: r["position"] for r in self._q("SELECT name, position FROM {projection_positions}")
        }


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def utc_day_range(day: date, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=days)
