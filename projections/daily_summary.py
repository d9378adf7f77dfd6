"""Due rows for the practitioners' daily agenda summary (docs/notifications.md).

A row names only a practitioner and a local day
("daily_summary:email:<practitioner>:<YYYY-MM-DD>"); the worker reads the
day's appointments when it sends. Rows are written from events alone, so a
rebuild writes the same ones:

- a booking or a move onto day D of a practitioner who opted in writes D's row;
- opting in (or changing the hour) writes a row for every day that has or had an
  appointment, and moves the hour of the rows not yet sent.

A day without any appointment gets no row, hence no e-mail: the summary is
only sent on days with something to say. No row is written whose time had
already passed when its event happened (a booking at 14:00 for today does not
send this morning's summary at 14:00).

The due time is the local hour of that day in the practice's zone, computed
by PostgreSQL (`(day + hour) AT TIME ZONE zone`), so a DST day still fires at
the local hour. An hour the spring change skips (02:00 in Paris) fires at
03:00 local; the hour the autumn change repeats fires at its second
occurrence (standard time).
"""

from __future__ import annotations

from typing import Any

import psycopg

KIND = "daily_summary"
TURNED_OFF = "daily summary turned off"  # the worker's reason when it skips: see workers/summary.py
TABLE = "notify_daily_summaries"
COLUMNS = "practitioner_id uuid PRIMARY KEY, enabled boolean NOT NULL, hour int NOT NULL"

# INSERT ... SELECT the row of each day in the derived table `d`, when the practitioner opted in.
ONE_DAY = (
    "INSERT INTO {notification_due} (key, kind, channel, practitioner_id, day, due_at)"
    " SELECT 'daily_summary:email:' || s.practitioner_id || ':' || to_char(d.day, 'YYYY-MM-DD'),"
    " 'daily_summary', 'email', s.practitioner_id, d.day, (d.day + make_time(s.hour, 0, 0)) AT TIME ZONE p.timezone"
    " FROM {notify_daily_summaries} s JOIN {notify_practitioners} p ON p.id = s.practitioner_id"
    " CROSS JOIN (SELECT %(day)s::date AS day) d WHERE s.practitioner_id = %(practitioner)s AND s.enabled"
    " AND (d.day + make_time(s.hour, 0, 0)) AT TIME ZONE p.timezone >= %(at)s"
    " ON CONFLICT (key) DO NOTHING"
)
# The same for every day that has or had an appointment (a day emptied by cancellations
# may be booked again: its row must have the new hour); opting in again after a row was
# skipped because the summary was off brings that row back.
EVERY_BOOKED_DAY = (
    "INSERT INTO {notification_due} (key, kind, channel, practitioner_id, day, due_at)"
    " SELECT 'daily_summary:email:' || s.practitioner_id || ':' || to_char(d.day, 'YYYY-MM-DD'),"
    " 'daily_summary', 'email', s.practitioner_id, d.day, (d.day + make_time(s.hour, 0, 0)) AT TIME ZONE p.timezone"
    " FROM {notify_daily_summaries} s JOIN {notify_practitioners} p ON p.id = s.practitioner_id"
    " CROSS JOIN (SELECT DISTINCT day FROM {notify_appointments} WHERE practitioner_id = %(practitioner)s) d"
    " WHERE s.practitioner_id = %(practitioner)s AND s.enabled"
    " AND (d.day + make_time(s.hour, 0, 0)) AT TIME ZONE p.timezone >= %(at)s"
    " ON CONFLICT (key) DO UPDATE SET due_at = EXCLUDED.due_at, claimed_at = NULL, done_at = NULL,"
    " outcome = NULL WHERE {notification_due}.done_at IS NULL OR {notification_due}.outcome = %(off)s"
)
OPTED_IN = "SELECT 1 FROM {notify_daily_summaries} WHERE practitioner_id = %s AND enabled"
CHOSEN = (
    "INSERT INTO {notify_daily_summaries} (practitioner_id, enabled, hour) VALUES (%s, %s, %s)"
    " ON CONFLICT (practitioner_id) DO UPDATE SET enabled = EXCLUDED.enabled, hour = EXCLUDED.hour"
)


class OptIns:
    """Who opted in, read once per batch and practitioner, so a batch of bookings costs few reads.

    Valid for one cursor only: the runner opens one per batch, inside the
    transaction that holds the projection's position lock, so no other runner
    changes the choices meanwhile; a rolled-back batch takes its cursor along.
    """

    def __init__(self) -> None:
        self.cursor: Any = None
        self.known: dict[Any, bool] = {}

    def wanted(self, projection: Any, cur: psycopg.Cursor[Any], practitioner_id: Any) -> bool:
        if cur is not self.cursor:
            self.cursor, self.known = cur, {}
        found = self.known.get(practitioner_id)
        if found is None:
            projection.execute(cur, OPTED_IN, (practitioner_id,))
            found = self.known[practitioner_id] = cur.fetchone() is not None
        return found

    def forget(self, practitioner_id: Any) -> None:
        self.known.pop(practitioner_id, None)


def write_day(projection: Any, cur: psycopg.Cursor[Any], practitioner_id: Any, day: Any, at: Any) -> None:
    """An appointment now falls on `day`: its summary row, when the practitioner wants one."""
    if projection.summaries.wanted(projection, cur, practitioner_id):
        projection.execute(cur, ONE_DAY, {"practitioner": practitioner_id, "day": day, "at": at})


def chosen(projection: Any, cur: psycopg.Cursor[Any], event: Any) -> None:
    """`NotificationPolicy.DailySummaryChosen`: keep the choice, and rows for the days already booked."""
    projection.execute(cur, CHOSEN, (event.practitioner_id, event.enabled, event.hour))
    if event.enabled:
        projection.execute(
            cur,
            EVERY_BOOKED_DAY,
            {"practitioner": event.practitioner_id, "at": event.timestamp, "off": f"skipped: {TURNED_OFF}"},
        )
