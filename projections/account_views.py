"""Queries of the account, family and secretary pages (tables of accounts.py, secretaries.py, profiles.py).

Shares the `ReadModels` connection pool. What a page shows comes from here;
whether someone may act is decided by the commands, from aggregates.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from .views import ReadModels, _like_escape

TABLES = (
    "accounts", "secretary_grants", "practitioner_messages", "profile_contacts", "profiles",
    "practitioners", "practitioner_details", "agenda_appointments", "practice_profiles",
)  # fmt: skip
_RENDERED: dict[tuple[str, str], str] = {}


class AccountReads:
    def __init__(self, reads: ReadModels) -> None:
        self.reads = reads

    def _q(self, statement: str, params: Any = None) -> list[dict[str, Any]]:
        with self.reads.pool.connection() as conn:
            key = (self.reads.schema, statement)
            query = _RENDERED.get(key)
            if query is None:
                names = {
                    n: sql.Identifier(self.reads.schema, n) for n in TABLES if "{" + n + "}" in statement
                }
                query = _RENDERED[key] = sql.SQL(statement).format(**names).as_string(conn)
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()

    # -- families ------------------------------------------------------------

    def family(self, account_id: UUID) -> list[dict[str, Any]]:
        return self._q(
            "SELECT p.*, c.phone, c.email FROM {profiles} p LEFT JOIN {profile_contacts} c ON c.profile_id = p.id"
            " WHERE p.manager_id = %s ORDER BY p.created_at, p.id",
            (account_id,),
        )

    # -- secretaries -----------------------------------------------------------

    def agendas_of_secretary(self, secretary_id: UUID) -> list[dict[str, Any]]:
        return self._q(
            "SELECT p.id, p.name, p.specialty, p.city FROM {secretary_grants} g"
            " JOIN {practitioners} p ON p.id = g.practitioner_id"
            " WHERE g.secretary_id = %s AND g.active ORDER BY p.name, p.id",
            (secretary_id,),
        )

    def practitioner_of_appointment(self, appointment_id: UUID) -> UUID | None:
        """The agenda an appointment lies in (a secretary's API command checks its grant there), or None."""
        rows = self._q("SELECT practitioner_id FROM {agenda_appointments} WHERE id = %s", (appointment_id,))
        return rows[0]["practitioner_id"] if rows else None

    def secretaries_of(self, practitioner_id: UUID) -> list[dict[str, Any]]:
        return self._q(
            "SELECT g.secretary_id, g.active, g.changed_at, a.email FROM {secretary_grants} g"
            " JOIN {accounts} a ON a.id = g.secretary_id WHERE g.practitioner_id = %s ORDER BY a.email",
            (practitioner_id,),
        )

    def inbox(self, practitioner_id: UUID) -> list[dict[str, Any]]:
        return self._q(
            "SELECT m.*, a.email AS secretary_email, p.first_name, p.last_name FROM {practitioner_messages} m"
            " LEFT JOIN {accounts} a ON a.id = m.secretary_id LEFT JOIN {profiles} p ON p.id = m.profile_id"
            " WHERE m.practitioner_id = %s ORDER BY (m.done_at IS NOT NULL), m.left_at DESC LIMIT 200",
            (practitioner_id,),
        )

    def find_patients(
        self,
        practitioner_id: UUID,
        name: str = "",
        birth_date: date | None = None,
        phone: str = "",
        limit: int = 30,
    ) -> list[dict[str, Any]]:
        """The practice's own patients (an appointment with the practitioner, or created by the practice)
        by name, birth date or exact phone number; anyone else on the platform only by exact last name
        and birth date together, the rule the booking command applies to staff (docs/security.md)."""
        if not (name or birth_date or phone):
            return []
        return self._q(
            "SELECT p.id, p.first_name, p.last_name, p.birth_date, p.manager_id, c.phone, c.email"
            " FROM {profiles} p LEFT JOIN {profile_contacts} c ON c.profile_id = p.id WHERE"
            " (%(birth)s::date IS NOT NULL AND p.birth_date = %(birth)s::date AND %(name)s <> ''"
            "  AND lower(p.last_name) = lower(%(name)s))"
            " OR ((EXISTS (SELECT 1 FROM {agenda_appointments} a WHERE a.practitioner_id = %(pr)s"
            "              AND a.profile_id = p.id) OR EXISTS (SELECT 1 FROM {practice_profiles} pp"
            "              WHERE pp.practitioner_id = %(pr)s AND pp.profile_id = p.id))"
            "     AND ((%(phone)s <> '' AND c.phone = %(phone)s)"
            "          OR (%(birth)s::date IS NOT NULL AND p.birth_date = %(birth)s::date"
            "              AND (%(name)s = '' OR (p.first_name || ' ' || p.last_name) ILIKE %(nl)s))"
            "          OR (%(name)s <> '' AND %(birth)s::date IS NULL"
            "              AND (p.last_name ILIKE %(nl)s OR p.first_name ILIKE %(nl)s"
            "                   OR (p.first_name || ' ' || p.last_name) ILIKE %(nl)s))))"
            " ORDER BY lower(p.last_name), lower(p.first_name), p.id LIMIT %(limit)s",
            {
                "phone": phone,
                "birth": birth_date,
                "name": name,
                "nl": f"%{_like_escape(name)}%",
                "pr": practitioner_id,
                "limit": limit,
            },
        )

    def is_patient_of(self, practitioner_id: UUID, profile_id: UUID) -> bool:
        """Had an appointment with the practitioner, or was created by the practice."""
        return bool(
            self._q(
                "SELECT 1 FROM {agenda_appointments} WHERE practitioner_id = %(pr)s AND profile_id = %(p)s"
                " UNION ALL SELECT 1 FROM {practice_profiles} WHERE practitioner_id = %(pr)s AND profile_id = %(p)s"
                " LIMIT 1",
                {"pr": practitioner_id, "p": profile_id},
            )
        )

    def profile_card(self, profile_id: UUID) -> dict[str, Any] | None:
        rows = self._q(
            "SELECT p.id, p.first_name, p.last_name, p.birth_date, p.manager_id, c.phone, c.email"
            " FROM {profiles} p LEFT JOIN {profile_contacts} c ON c.profile_id = p.id WHERE p.id = %s",
            (profile_id,),
        )
        return rows[0] if rows else None

    # -- practitioner details ------------------------------------------------------

    def practitioner_details(self, practitioner_id: UUID) -> dict[str, Any]:
        rows = self._q("SELECT * FROM {practitioner_details} WHERE practitioner_id = %s", (practitioner_id,))
        return rows[0] if rows else {"rpps": "", "languages": [], "video_offered": False}
