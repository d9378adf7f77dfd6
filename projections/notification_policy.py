"""When reminders fall due: the default policy and a practitioner's per-motif changes.

Default, after the market leader: an e-mail 7 days before when booked more than
7 days ahead, and one the day before; an SMS 2 days before when booked more
than 7 days ahead, otherwise the day before. A reminder that would fall less
than `MIN_GAP` after the booking is not written: the confirmation just sent
says the same (a same-day booking gets no reminder).

A policy is a dict: {"email": bool, "sms": bool, "reminders": [rule, ...]}
where a rule is {"channel", "days_before", "booked_more_than_days"?,
"booked_at_most_days"?}. Practitioners store one per motif ("*" for all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consulta.aggregates.notification_settings import checked_policy as _checked

CHANNELS = ("email", "sms")
MIN_GAP = timedelta(hours=12)
QUIET_START, QUIET_END = time(21, 0), time(8, 0)  # no SMS from 21:00 to 08:00, patient's local time

DEFAULT_POLICY: dict[str, Any] = {
    "email": True,
    "sms": True,
    "reminders": [
        {"channel": "email", "days_before": 7, "booked_more_than_days": 7},
        {"channel": "email", "days_before": 1},
        {"channel": "sms", "days_before": 2, "booked_more_than_days": 7},
        {"channel": "sms", "days_before": 1, "booked_at_most_days": 7},
    ],
}


@dataclass(frozen=True)
class Reminder:
    channel: str
    days_before: int
    due_at: datetime


def checked_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy with every field present and sane (the domain's check; InvalidInputError otherwise)."""
    return _checked(policy, DEFAULT_POLICY)


def reminders(policy: dict[str, Any], booked_at: datetime, starts_at: datetime) -> list[Reminder]:
    ahead = starts_at - booked_at
    found = []
    for rule in policy["reminders"]:
        if not policy.get(rule["channel"], True):
            continue
        more = rule.get("booked_more_than_days")
        at_most = rule.get("booked_at_most_days")
        if more is not None and ahead <= timedelta(days=more):
            continue
        if at_most is not None and ahead > timedelta(days=at_most):
            continue
        due_at = starts_at - timedelta(days=rule["days_before"])
        if due_at - booked_at < MIN_GAP:
            continue
        found.append(Reminder(rule["channel"], rule["days_before"], due_at))
    return found


def quiet_until(moment: datetime, zone: str) -> datetime | None:
    """When `moment` falls in the SMS quiet hours of `zone`, the next 08:00 there; else None."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    if QUIET_END <= local.time() < QUIET_START:
        return None
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=tz)
