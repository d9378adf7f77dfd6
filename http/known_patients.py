"""Motifs closed to new patients: who sees their free slots, and for which profiles they book.

A motif with `new_patients = False` is bookable online only for a profile the
practitioner has already seen: a `KnownPatient`, recorded when one of its
appointments is honoured (aggregates/appointment.py). The booking command
refuses everyone else; the pages and the API therefore show such a motif's
free slots only to a viewer who could book them: a patient one of whose
profiles (family included) is known, or, in the API, staff of that agenda.
Everyone else sees the motif with a note to call the practice, and no slots.

Whether a profile is known is read from the event store, the same aggregate
the booking command checks (there is no projection of it): one read per
profile of the viewer, only for a logged-in patient, only when the
practitioner has such a motif, and once per request. The practitioner pages
keep the answer (profile ids only) in the process's page cache, keyed on the
projection positions like every entry there: a `KnownPatient` is recorded with
an honoured appointment, an event that moves every position, so an entry never
outlives a change it could miss (see consulta.projections.cached).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consulta.aggregates.rules import Motif
from consulta.application import Actor
from consulta.projections.cached import CachedReads
from consulta.services import Services

NOTE = "Reserved for patients already followed by this practitioner: please call the practice."


def restricted(motif: Motif) -> bool:
    """Bookable online, but only by the practitioner's known patients."""
    return motif.online and not motif.new_patients


class KnownProfiles:
    """What one viewer may see and book of one practitioner's restricted motifs (read lazily, once)."""

    def __init__(
        self,
        services: Services,
        actor: Actor | None,
        practitioner_id: UUID,
        staff_may_book: bool = False,
        cache: CachedReads | None = None,
    ) -> None:
        self.services, self.actor, self.practitioner_id = services, actor, practitioner_id
        self.staff_may_book, self.cache = staff_may_book, cache
        self._profiles: list[dict[str, Any]] | None = None
        self._any: bool | None = None

    @property
    def profiles(self) -> list[dict[str, Any]]:
        """The viewer's profiles (own and family) this practitioner knows; none for visitors and staff."""
        if self._profiles is None:
            actor, app = self.actor, self.services.app
            if actor is None or actor.role != "patient":
                self._profiles = []
            else:
                own = self.services.reads.profiles_of_account(actor.account_id)
                self._profiles = [p for p in own if app.is_known_patient(self.practitioner_id, p["id"])]
        return self._profiles

    @property
    def is_staff_of_agenda(self) -> bool:
        actor = self.actor
        return self.staff_may_book and actor is not None and actor.may_manage_agenda(self.practitioner_id)

    def _any_known(self) -> bool:
        if self._any is None:
            cache, actor = self.cache, self.actor
            if cache is None or actor is None or actor.role != "patient":
                self._any = bool(self.profiles)
            else:
                key = ("known-profiles", actor.account_id, self.practitioner_id)
                ids = cache.remember(
                    key, cache.page_positions(), lambda: tuple(p["id"] for p in self.profiles)
                )
                self._any = bool(ids)
        return self._any

    def locked(self, motif: Motif) -> bool:
        """True when the motif's slots are not for this viewer: restricted, and no known profile."""
        return restricted(motif) and not self.is_staff_of_agenda and not self._any_known()

    def may_book_for(self, motif: Motif, profile_id: UUID) -> bool:
        """Whether booking this motif for this profile would pass the known-patient rule."""
        if not restricted(motif) or self.is_staff_of_agenda:
            return True
        return any(p["id"] == profile_id for p in self.profiles)
