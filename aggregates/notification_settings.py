"""Who wants which notifications: a patient's channels, a practitioner's reminder policy per motif.

Both aggregates have deterministic ids (one per account, one per practitioner),
so the first change opens them and later ones load them.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, available_timezones

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInputError

CHANNELS = ("email", "sms")


def checked_policy(policy: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """A reminder policy with every field present and sane: {"email", "sms", "reminders": [rule]}."""
    merged = {**default, **policy}
    rules = []
    for rule in merged["reminders"]:
        if not isinstance(rule, dict) or rule.get("channel") not in CHANNELS:
            raise InvalidInputError("a reminder's channel is email or sms")
        checked: dict[str, Any] = {"channel": rule["channel"]}
        for name in ("days_before", "booked_more_than_days", "booked_at_most_days"):
            if rule.get(name) is not None:
                try:
                    checked[name] = int(rule[name])
                except (TypeError, ValueError):
                    raise InvalidInputError(f"{name} is a whole number of days") from None
        if not 1 <= checked.get("days_before", 0) <= 30:
            raise InvalidInputError("a reminder comes 1 to 30 days before")
        rules.append(checked)
    return {"email": bool(merged["email"]), "sms": bool(merged["sms"]), "reminders": rules}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the tz database's files: once per process


def checked_zone(zone: str) -> str:
    """An IANA time zone name that zoneinfo knows ("" for none: the practice's zone)."""
    zone = (zone or "").strip()
    if zone and (len(zone) > 64 or zone not in _known_zones()):
        raise InvalidInputError("unknown time zone")
    if zone:
        ZoneInfo(zone)  # loads: the name is real data, not only a listed one
    return zone


class NotificationPreferences(Aggregate):
    """A patient account's channels (e-mail and SMS, each on unless turned off) and time zone.

    The zone sets the SMS quiet hours (21:00-08:00 there); none chosen: the practice's zone.
    """

    TOPIC = "consulta.NotificationPreferences"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.NotificationPreferences.Created"

    @staticmethod
    def id_for(account_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/notification-preferences/{account_id}")

    @classmethod
    def create_id(cls, account_id: UUID) -> UUID:  # eventsourcing hook
        return cls.id_for(account_id)

    @event("Opened", topic="consulta.NotificationPreferences.Opened")
    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.email = True
        self.sms = True
        self.zone = ""  # histories from before ZoneChosen existed load with no zone

    def choose_zone(self, zone: str) -> None:
        zone = checked_zone(zone)
        if zone != self.zone:
            self._zone_chosen(self.account_id, zone)

    @event("ZoneChosen", topic="consulta.NotificationPreferences.ZoneChosen")
    def _zone_chosen(self, account_id: UUID, zone: str) -> None:
        self.zone = zone

    def choose(self, email: bool, sms: bool) -> None:
        if (email, sms) != (self.email, self.sms):
            self._chosen(self.account_id, bool(email), bool(sms))

    @event("ChannelsChosen", topic="consulta.NotificationPreferences.ChannelsChosen")
    def _chosen(self, account_id: UUID, email: bool, sms: bool) -> None:
        self.email = email
        self.sms = sms


class NotificationPolicy(Aggregate):
    """A practitioner's reminder policy per motif ("*": every motif without its own)."""

    TOPIC = "consulta.NotificationPolicy"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.NotificationPolicy.Created"

    @staticmethod
    def id_for(practitioner_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/notification-policies/{practitioner_id}")

    @classmethod
    def create_id(cls, practitioner_id: UUID) -> UUID:  # eventsourcing hook
        return cls.id_for(practitioner_id)

    @event("Opened", topic="consulta.NotificationPolicy.Opened")
    def __init__(self, practitioner_id: UUID) -> None:
        self.practitioner_id = practitioner_id
        self.policies: dict[str, dict[str, Any]] = {}

    def set_policy(self, motif_id: str, policy: dict[str, Any], default: dict[str, Any]) -> None:
        motif_id = (motif_id or "").strip()
        if not motif_id or len(motif_id) > 64:
            raise InvalidInputError("a motif id (or *) is required")
        checked = checked_policy(policy, default)
        if self.policies.get(motif_id) != checked:
            self._policy_set(self.practitioner_id, motif_id, checked)

    @event("PolicySet", topic="consulta.NotificationPolicy.PolicySet")
    def _policy_set(self, practitioner_id: UUID, motif_id: str, policy: dict[str, Any]) -> None:
        self.policies = {**self.policies, motif_id: policy}

    def remove_policy(self, motif_id: str) -> None:
        """The motif follows "*" again ("*" itself: the default policy); nothing recorded if it had none."""
        motif_id = (motif_id or "").strip()
        if motif_id in self.policies:
            self._policy_removed(self.practitioner_id, motif_id)

    @event("PolicyRemoved", topic="consulta.NotificationPolicy.PolicyRemoved")
    def _policy_removed(self, practitioner_id: UUID, motif_id: str) -> None:
        self.policies = {k: v for k, v in self.policies.items() if k != motif_id}

    # The daily agenda summary: off until chosen. Class defaults, so histories and
    # snapshots from before the summary existed load with it off.
    daily_summary: bool = False
    daily_summary_hour: int = 7

    def choose_daily_summary(self, enabled: bool, hour: int) -> None:
        """One e-mail a day at `hour` (0 to 23, the practice's local time) listing the day's appointments."""
        if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
            raise InvalidInputError("the daily summary's hour is a whole number from 0 to 23")
        if (bool(enabled), hour) != (self.daily_summary, self.daily_summary_hour):
            self._daily_summary_chosen(self.practitioner_id, bool(enabled), hour)

    @event("DailySummaryChosen", topic="consulta.NotificationPolicy.DailySummaryChosen")
    def _daily_summary_chosen(self, practitioner_id: UUID, enabled: bool, hour: int) -> None:
        self.daily_summary = enabled
        self.daily_summary_hour = hour
