"""Queries of the notification settings pages (tables of the `notifications` projection).

What the pages show as current: a patient's channels and zone (`notify_preferences`,
no row: the defaults) and a practice's reminder policy per motif (`notify_policies`:
the motif's own, else "*", else the default policy), the same lookup the
projection makes when it writes reminder rows.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from .notification_policy import DEFAULT_POLICY
from .views import ReadModels


class NotificationReads:
    def __init__(self, reads: ReadModels) -> None:
        self.reads = reads

    def _q(self, statement: str, params: Any) -> list[dict[str, Any]]:
        with self.reads.pool.connection() as conn:
            query = sql.SQL(statement).format(s=sql.Identifier(self.reads.schema))
            return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()

    def preferences(self, account_id: UUID) -> dict[str, Any]:
        """{"email": bool, "sms": bool, "zone": str ("": the practice's zone)}."""
        rows = self._q(
            "SELECT email, sms, coalesce(timezone, '') AS zone FROM {s}.notify_preferences WHERE account_id = %s",
            (account_id,),
        )
        return rows[0] if rows else {"email": True, "sms": True, "zone": ""}

    def policies(self, practitioner_id: UUID) -> dict[str, dict[str, Any]]:
        """The policies the practice set, by motif id ("*": every motif without its own)."""
        rows = self._q(
            "SELECT motif_id, policy FROM {s}.notify_policies WHERE practitioner_id = %s",
            (practitioner_id,),
        )
        return {r["motif_id"]: r["policy"] for r in rows}

    def daily_summary(self, practitioner_id: UUID) -> dict[str, Any]:
        """{"enabled": bool, "hour": int}: the daily agenda summary by e-mail (default: off, 07:00)."""
        rows = self._q(
            "SELECT enabled, hour FROM {s}.notify_daily_summaries WHERE practitioner_id = %s",
            (practitioner_id,),
        )
        return rows[0] if rows else {"enabled": False, "hour": 7}


def effective(policies: dict[str, dict[str, Any]], motif_id: str) -> tuple[dict[str, Any], str]:
    """The policy in force for a motif and where it comes from: "own", "all" (the "*" one) or "default"."""
    if motif_id in policies:
        return policies[motif_id], "own"
    if motif_id != "*" and "*" in policies:
        return policies["*"], "all"
    return DEFAULT_POLICY, "default"
