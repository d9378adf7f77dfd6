"""Due rows for teleconsultation invitations (docs/notifications.md, "Teleconsultation invitations").

`Consultation.Invited` carries the link and code sealed for the worker
(consulta.invitation_seal). Its handler keeps the sealed blob in one row of
`notify_consultations` (never in `notification_due`, whose rows name only the
message) and writes two due rows, due at once:

- "tele_invitation:email:<consultation>:<version>": the link and the code, to
  the account managing the patient's profile;
- "tele_invitation:sms:<consultation>:<version>": the code alone, to the
  profile's phone (no health information).

An Invited without a sealed blob (older histories, commands run without a
sealer) writes no row. `Consultation.Ended` erases the blob: a pending
invitation is then skipped by the worker ("expired"), which also erases it
when the code's validity has passed (`sealed` is a worker column).
"""

from __future__ import annotations

from typing import Any

import psycopg

KIND = "tele_invitation"
TABLE = "notify_consultations"
COLUMNS = (
    "id uuid PRIMARY KEY, practitioner_id uuid NOT NULL, profile_id uuid NOT NULL, appointment_id uuid,"
    " starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, status text NOT NULL,"
    " invited_version int, sealed text"
)

_SCHEDULED = (
    "INSERT INTO {notify_consultations} (id, practitioner_id, profile_id, appointment_id, starts_at, ends_at,"
    " status) VALUES (%s, %s, %s, %s, %s, %s, 'scheduled')"
)
_INVITED = "UPDATE {notify_consultations} SET invited_version = %s, sealed = %s WHERE id = %s"
_ROWS = (
    "INSERT INTO {notification_due} (key, kind, channel, appointment_id, profile_id, practitioner_id, due_at)"
    " SELECT 'tele_invitation:' || ch || ':' || c.id || ':' || c.invited_version, 'tele_invitation', ch,"
    " c.appointment_id, c.profile_id, c.practitioner_id, %s"
    " FROM {notify_consultations} c CROSS JOIN unnest(ARRAY['email', 'sms']) AS ch WHERE c.id = %s"
    " ON CONFLICT (key) DO NOTHING"
)
_ENDED = "UPDATE {notify_consultations} SET status = 'ended', sealed = NULL WHERE id = %s"


def scheduled(projection: Any, cur: psycopg.Cursor[Any], event: Any) -> None:
    projection.execute(
        cur,
        _SCHEDULED,
        (
            event.originator_id,
            event.practitioner_id,
            event.profile_id,
            event.appointment_id,
            event.starts_at,
            event.ends_at,
        ),
    )


def invited(projection: Any, cur: psycopg.Cursor[Any], event: Any) -> bool:
    """True when rows were written (the scheduler should wake)."""
    sealed = getattr(event, "sealed", None)  # absent from events stored before it existed
    if not sealed:
        return False
    projection.execute(cur, _INVITED, (event.originator_version, sealed, event.originator_id))
    projection.execute(cur, _ROWS, (event.timestamp, event.originator_id))
    return True


def ended(projection: Any, cur: psycopg.Cursor[Any], event: Any) -> None:
    projection.execute(cur, _ENDED, (event.originator_id,))
