"""The forms of the "Reminders and alerts" page, and the policy a form describes.

A reminder line is four fields (channel, days before, booked more than N days
ahead, booked at most N days ahead); a line without a channel is left out.
The numbers are checked by the domain (`checked_policy`), not here.
"""

from __future__ import annotations

from typing import Any

import msgspec


def _(message: str) -> str:
    """Marks a text for the catalogues (the i18n test extracts `_()`); pages translate it when shown."""
    return message


class PolicyForm(msgspec.Struct):
    practitioner_id: str
    motif_id: str
    email: str = ""  # checkboxes: "on" when checked, absent otherwise
    sms: str = ""
    channel_0: str = ""
    days_0: str = ""
    more_0: str = ""
    at_most_0: str = ""
    channel_1: str = ""
    days_1: str = ""
    more_1: str = ""
    at_most_1: str = ""
    channel_2: str = ""
    days_2: str = ""
    more_2: str = ""
    at_most_2: str = ""
    channel_3: str = ""
    days_3: str = ""
    more_3: str = ""
    at_most_3: str = ""
    channel_4: str = ""
    days_4: str = ""
    more_4: str = ""
    at_most_4: str = ""


class MotifForm(msgspec.Struct):
    """Removing a motif's own policy: which practitioner, which motif."""

    practitioner_id: str
    motif_id: str


class SummaryForm(msgspec.Struct):
    practitioner_id: str
    enabled: str = ""
    hour: str = "7"


def policy_of(form: PolicyForm, rows: int) -> dict[str, Any]:
    """{"email", "sms", "reminders": [...]} as `set_reminder_policy` takes it."""
    reminders = []
    for i in range(rows):
        channel = getattr(form, f"channel_{i}", "").strip()[:10]
        if not channel:
            continue
        rule: dict[str, Any] = {"channel": channel, "days_before": getattr(form, f"days_{i}").strip()[:4]}
        for name, field in (("booked_more_than_days", "more"), ("booked_at_most_days", "at_most")):
            value = getattr(form, f"{field}_{i}").strip()[:4]
            if value:
                rule[name] = value
        reminders.append(rule)
    return {"email": form.email == "on", "sms": form.sms == "on", "reminders": reminders}
