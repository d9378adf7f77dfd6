"""The practitioner and the rules of their online agenda."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import InvalidInputError
from .rules import AgendaRules, Motif, OpeningRange, Policy, ReservedPeriod


def _text(value: str, what: str, limit: int = 120) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInputError(f"{what} is required (at most {limit} characters)")
    return value


class Practitioner(Aggregate):
    TOPIC = "consulta.Practitioner"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.Practitioner.Created"

    @event("Registered", topic="consulta.Practitioner.Registered")
    def __init__(
        self,
        account_id: UUID,
        name: str,
        specialty: str,
        city: str,
        address: str,
        policy: dict[str, Any],
    ) -> None:
        self.account_id = account_id
        self.name = name
        self.specialty = specialty
        self.city = city
        self.address = address
        self.policy = policy
        self.hours: list[dict[str, Any]] = []
        self.motifs: list[dict[str, Any]] = []
        self.reserved: list[dict[str, Any]] = []
        self.agenda_opened = False

    @classmethod
    def register(
        cls,
        account_id: UUID,
        name: str,
        specialty: str,
        city: str,
        address: str = "",
        timezone: str = "Europe/Paris",
    ) -> Practitioner:
        policy = Policy.from_dict({"timezone": timezone}).to_dict()
        return cls(
            account_id=account_id,
            name=_text(name, "name"),
            specialty=_text(specialty, "specialty"),
            city=_text(city, "city"),
            address=address.strip()[:300],
            policy=policy,
        )

    @property
    def rules(self) -> AgendaRules:
        return AgendaRules.from_data(self.policy, self.hours, self.motifs, self.reserved)

    @property
    def offers_video(self) -> bool:
        """Patients can book a video consultation online (the directory's "video" filter)."""
        if self.policy.get("video_daily_cap") == 0:
            return False
        return any(h["place"] == "video" for h in self.hours) and any(
            "video" in m["modes"] and m.get("online", True) for m in self.motifs
        )

    def set_opening_hours(self, ranges: list[dict[str, Any]]) -> None:
        checked = [OpeningRange.from_dict(r) for r in ranges]
        for i, a in enumerate(checked):
            for b in checked[i + 1 :]:
                if a.weekday == b.weekday and a.start < b.end and b.start < a.end:
                    raise InvalidInputError("opening ranges of one day must not overlap")
        self._hours_set([r.to_dict() for r in checked])

    @event("OpeningHoursSet", topic="consulta.Practitioner.OpeningHoursSet")
    def _hours_set(self, hours: list[dict[str, Any]]) -> None:
        self.hours = hours
        self.agenda_opened = True

    def save_motif(self, motif: dict[str, Any]) -> None:
        checked = Motif.from_dict(motif).to_dict()
        self._motif_saved(checked)

    @event("MotifSaved", topic="consulta.Practitioner.MotifSaved")
    def _motif_saved(self, motif: dict[str, Any]) -> None:
        self.motifs = [m for m in self.motifs if m["id"] != motif["id"]] + [motif]

    def set_reserved_periods(self, periods: list[dict[str, Any]]) -> None:
        checked = [ReservedPeriod.from_dict(p).to_dict() for p in periods]
        known = {m["id"] for m in self.motifs}
        if any(set(p["motif_ids"]) - known for p in checked):
            raise InvalidInputError("a reserved period names an unknown motif")
        self._reserved_set(checked)

    @event("ReservedPeriodsSet", topic="consulta.Practitioner.ReservedPeriodsSet")
    def _reserved_set(self, periods: list[dict[str, Any]]) -> None:
        self.reserved = periods

    def set_policy(self, **changes: Any) -> None:
        """Change the policy; the time zone only until the agenda opens.

        Agenda days (the double-booking guard) are keyed by the local date in
        this zone: moving the zone under booked appointments would file new
        bookings under other days than the old ones, and let them overlap.
        """
        merged = Policy.from_dict({**self.policy, **changes}).to_dict()
        if self.agenda_opened and merged["timezone"] != self.policy["timezone"]:
            raise InvalidInputError("the time zone cannot change once the agenda has opening hours")
        self._policy_set(merged)

    def describe(self, details: dict[str, Any]) -> None:
        """Name, specialty, RPPS number, practice address, languages, video offered (family.py checks)."""
        from .family import checked_practitioner_details

        self._described(checked_practitioner_details(details))

    @event("Described", topic="consulta.Practitioner.Described")
    def _described(self, details: dict[str, Any]) -> None:
        self.name = details["name"]
        self.specialty = details["specialty"]
        self.city = details["city"]
        self.address = details["address"]
        self.details = details

    @event("PolicySet", topic="consulta.Practitioner.PolicySet")
    def _policy_set(self, policy: dict[str, Any]) -> None:
        self.policy = policy
