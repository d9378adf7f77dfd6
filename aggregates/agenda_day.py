"""One local day of one practitioner's agenda: the guard against double-booking.

Its id is derived from (practitioner, local date), so two bookings of the same
day load and save the same aggregate: the event store's version check refuses
the second concurrent save, whatever the durations involved. The day also
counts video consultations (the daily cap) and holds blocked periods.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from .errors import BlockConflictError, SlotTakenError, VideoCapReachedError
from .rules import overlaps


class AgendaDay(Aggregate):
    TOPIC = "consulta.AgendaDay"

    class Created(Aggregate.Created):  # the first event has its own name below
        TOPIC = "consulta.AgendaDay.Created"

    @staticmethod
    def id_for(practitioner_id: UUID, day: date) -> UUID:
        return uuid5(NAMESPACE_URL, f"/agenda-day/{practitioner_id}/{day.isoformat()}")

    @classmethod
    def open(cls, practitioner_id: UUID, day: date) -> AgendaDay:
        return cls(practitioner_id=practitioner_id, day=day)

    @event("Opened", topic="consulta.AgendaDay.Opened")
    def __init__(self, practitioner_id: UUID, day: date) -> None:
        self.practitioner_id = practitioner_id
        self.day = day
        # appointment id (str) -> [starts_at, ends_at, mode]
        self.appointments: dict[str, list[Any]] = {}
        # hold id (str) -> [starts_at, ends_at, mode, held_until, holder account id (str) or None]
        self.holds: dict[str, list[Any]] = {}
        # block id (str) -> [starts_at, ends_at]
        self.blocks: dict[str, list[Any]] = {}

    @classmethod
    def create_id(cls, practitioner_id: UUID, day: date) -> UUID:  # eventsourcing hook
        return cls.id_for(practitioner_id, day)

    def _is_theirs(self, hold_id: str, by: UUID | None, named: set[str]) -> bool:
        """A hold is the caller's when it was taken by them, or named by them and has no owner."""
        owner = self.holds[hold_id][4]
        if owner is not None:
            return by is not None and owner == str(by)
        return hold_id in named

    def _held_by_others(
        self, starts_at: datetime, ends_at: datetime, now: datetime, by: UUID | None, named: set[str]
    ) -> bool:
        return any(
            until > now and overlaps(starts_at, ends_at, s, e) and not self._is_theirs(hold_id, by, named)
            for hold_id, (s, e, _, until, _) in self.holds.items()
        )

    def _taken(self, starts_at: datetime, ends_at: datetime) -> bool:
        if any(overlaps(starts_at, ends_at, s, e) for s, e, _ in self.appointments.values()):
            return True
        return any(overlaps(starts_at, ends_at, s, e) for s, e in self.blocks.values())

    def conflicts(
        self,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
        ignore_hold: str | None = None,
        by: UUID | None = None,
    ) -> bool:
        """An appointment, a block or someone else's live hold overlaps the interval."""
        named = {ignore_hold} if ignore_hold else set()
        return self._taken(starts_at, ends_at) or self._held_by_others(starts_at, ends_at, now, by, named)

    def video_count(self) -> int:
        return sum(1 for _, _, mode in self.appointments.values() if mode == "video")

    def place(
        self,
        appointment_id: UUID,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        now: datetime,
        video_cap: int | None,
        hold_id: UUID | None = None,
        by: UUID | None = None,
        by_role: str = "system",
    ) -> None:
        """Place an appointment; the holds of `by` (the booker) do not stand in their way."""
        named = {str(hold_id)} if hold_id else set()
        if self._taken(starts_at, ends_at) or self._held_by_others(starts_at, ends_at, now, by, named):
            raise SlotTakenError("this time is no longer free")
        if mode == "video" and video_cap is not None and self.video_count() >= video_cap:
            raise VideoCapReachedError("no more video consultations this day")
        used = str(hold_id) if hold_id and str(hold_id) in self.holds else None
        if used is not None and not self._is_theirs(used, by, named):
            used = None  # someone else's hold stays theirs
        self._placed(str(appointment_id), starts_at, ends_at, mode, used, by, by_role)

    @event("AppointmentPlaced", topic="consulta.AgendaDay.AppointmentPlaced")
    def _placed(
        self,
        appointment_id: str,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        hold_id: str | None,
        by: UUID | None = None,  # defaults: events stored before who-acted was recorded here
        by_role: str = "system",
    ) -> None:
        self.appointments[appointment_id] = [starts_at, ends_at, mode]
        if hold_id is not None:
            self.holds.pop(hold_id, None)

    def release(self, appointment_id: UUID, by: UUID | None = None, by_role: str = "system") -> None:
        if str(appointment_id) in self.appointments:
            self._released(str(appointment_id), by, by_role)

    @event("AppointmentReleased", topic="consulta.AgendaDay.AppointmentReleased")
    def _released(self, appointment_id: str, by: UUID | None = None, by_role: str = "system") -> None:
        del self.appointments[appointment_id]

    def hold(
        self,
        hold_id: UUID,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        held_until: datetime,
        now: datetime,
        replaces: list[str] | None = None,
        by: UUID | None = None,
        by_role: str = "patient",
    ) -> None:
        """Hold a slot for a few minutes.

        The new hold replaces the holder's own holds that it overlaps and those
        named in `replaces`; a hold of someone else is never dropped (only
        expired ones are cleared).
        """
        named = set(replaces or ())
        if self._held_by_others(starts_at, ends_at, now, by, named):
            raise SlotTakenError("this time is being booked by someone else")
        if self._taken(starts_at, ends_at):
            raise SlotTakenError("this time is no longer free")
        dropped = {
            h
            for h, (s, e, _, until, _) in self.holds.items()
            if until <= now
            or (self._is_theirs(h, by, named) and (h in named or overlaps(starts_at, ends_at, s, e)))
        }
        self._held(str(hold_id), starts_at, ends_at, mode, held_until, sorted(dropped), by, by_role)

    @event("SlotHeld", topic="consulta.AgendaDay.SlotHeld")
    def _held(
        self,
        hold_id: str,
        starts_at: datetime,
        ends_at: datetime,
        mode: str,
        held_until: datetime,
        dropped: list[str],
        by: UUID | None,
        by_role: str,
    ) -> None:
        for old in dropped:
            self.holds.pop(old, None)
        self.holds[hold_id] = [starts_at, ends_at, mode, held_until, None if by is None else str(by)]

    def appointments_within(self, starts_at: datetime, ends_at: datetime) -> list[str]:
        return sorted(a for a, (s, e, _) in self.appointments.items() if overlaps(starts_at, ends_at, s, e))

    def block(
        self,
        block_id: UUID,
        starts_at: datetime,
        ends_at: datetime,
        by: UUID | None = None,
        by_role: str = "practitioner",
        closed: list[str] | None = None,
    ) -> None:
        """Block a period; refused while appointments lie inside, except `closed` ones.

        Closed (honoured or missed) appointments keep their time on the day but
        cannot be cancelled any more: they do not stand in the way of a block.
        """
        inside = [a for a in self.appointments_within(starts_at, ends_at) if a not in set(closed or ())]
        if inside:
            raise BlockConflictError(inside)
        self._blocked(str(block_id), starts_at, ends_at, by, by_role)

    @event("PeriodBlocked", topic="consulta.AgendaDay.PeriodBlocked")
    def _blocked(
        self, block_id: str, starts_at: datetime, ends_at: datetime, by: UUID | None, by_role: str
    ) -> None:
        self.blocks[block_id] = [starts_at, ends_at]

    def unblock(self, block_id: UUID, by: UUID | None = None, by_role: str = "practitioner") -> None:
        if str(block_id) in self.blocks:
            self._unblocked(str(block_id), by, by_role)

    @event("BlockLifted", topic="consulta.AgendaDay.BlockLifted")
    def _unblocked(self, block_id: str, by: UUID | None, by_role: str) -> None:
        del self.blocks[block_id]
