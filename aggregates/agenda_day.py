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
        # hold id (str) -> [starts_at, ends_at, mode, held_until]
        self.holds: dict[str, list[Any]] = {}
        # block id (str) -> [starts_at, ends_at]
        self.blocks: dict[str, list[Any]] = {}

    @classmethod
    def create_id(cls, practitioner_id: UUID, day: date) -> UUID:  # eventsourcing hook
        return cls.id_for(practitioner_id, day)

    def conflicts(
        self, starts_at: datetime, ends_at: datetime, now: datetime, ignore_hold: str | None = None
    ) -> bool:
        if any(overlaps(starts_at, ends_at, s, e) for s, e, _ in self.appointments.values()):
            return True
        if any(overlaps(starts_at, ends_at, s, e) for s, e in self.blocks.values()):
            return True
        return any(
            hold_id != ignore_hold and until > now and overlaps(starts_at, ends_at, s, e)
            for hold_id, (s, e, _, until) in self.holds.items()
        )

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
    ) -> None:
        if self.conflicts(starts_at, ends_at, now, ignore_hold=str(hold_id) if hold_id else None):
            raise SlotTakenError("this time is no longer free")
        if mode == "video" and video_cap is not None and self.video_count() >= video_cap:
            raise VideoCapReachedError("no more video consultations this day")
        self._placed(str(appointment_id), starts_at, ends_at, mode, str(hold_id) if hold_id else None)

    @event("AppointmentPlaced", topic="consulta.AgendaDay.AppointmentPlaced")
    def _placed(
        self, appointment_id: str, starts_at: datetime, ends_at: datetime, mode: str, hold_id: str | None
    ) -> None:
        self.appointments[appointment_id] = [starts_at, ends_at, mode]
        if hold_id is not None:
            self.holds.pop(hold_id, None)

    def release(self, appointment_id: UUID) -> None:
        if str(appointment_id) in self.appointments:
            self._released(str(appointment_id))

    @event("AppointmentReleased", topic="consulta.AgendaDay.AppointmentReleased")
    def _released(self, appointment_id: str) -> None:
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
        """Hold a slot for a few minutes; `replaces` are the holder's older holds."""
        ignore = set(replaces or ())
        for other_id, (s, e, _, until) in self.holds.items():
            if other_id not in ignore and until > now and overlaps(starts_at, ends_at, s, e):
                raise SlotTakenError("this time is being booked by someone else")
        if any(overlaps(starts_at, ends_at, s, e) for s, e, _ in self.appointments.values()) or any(
            overlaps(starts_at, ends_at, s, e) for s, e in self.blocks.values()
        ):
            raise SlotTakenError("this time is no longer free")
        expired = [h for h, (_, _, _, until) in self.holds.items() if until <= now]
        self._held(
            str(hold_id), starts_at, ends_at, mode, held_until, sorted(ignore | set(expired)), by, by_role
        )

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
        self.holds[hold_id] = [starts_at, ends_at, mode, held_until]

    def block(
        self,
        block_id: UUID,
        starts_at: datetime,
        ends_at: datetime,
        by: UUID | None = None,
        by_role: str = "practitioner",
    ) -> None:
        inside = sorted(
            a for a, (s, e, _) in self.appointments.items() if overlaps(starts_at, ends_at, s, e)
        )
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
