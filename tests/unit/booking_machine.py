"""A hypothesis state machine over the booking commands, with a model that predicts each answer.

Random book / hold / cancel / reschedule / block / lift / close / advance-the-clock
sequences, for two practitioners (Paris, with a night range on the Sunday of
the spring change and a video cap; Noumea, a day ahead of UTC) over three
days, with 20- and 40-minute motifs whose slots overlap partially.

The model knows which intervals are taken and predicts the refusal (if any)
of every command; after every step the invariants are checked against the
store: no two active appointments of a practitioner overlap, none lies in a
block, the video cap holds, every AgendaDay lists exactly the appointments
that use its time, and every aggregate reloaded from the store equals the
live object the command saved (its whole __dict__).

`Consulta` is built by `make_app`; the Postgres run overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from consulta.aggregates.agenda_day import AgendaDay
from consulta.aggregates.appointment import Appointment
from consulta.aggregates.errors import (
    AppointmentClosedError,
    BlockConflictError,
    BookingWindowError,
    CancellationTooLateError,
    ForbiddenError,
    SlotTakenError,
    TooEarlyError,
    VideoCapReachedError,
)
from consulta.aggregates.rules import AgendaRules, overlaps
from consulta.application import Actor, Consulta
from tests.unit.helpers import EVERY_DAY, POPO, add_patient, add_practitioner

START = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # Friday; Paris moves to summer time on Sunday
DAYS = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
NIGHT = [{"weekday": 6, "start": "01:00", "end": "04:00", "place": "practice"}]
PRACTITIONERS: list[dict[str, Any]] = [
    {"timezone": "Europe/Paris", "hours": EVERY_DAY + NIGHT, "policy": {"video_daily_cap": 1}},
    {
        "timezone": "Pacific/Noumea",
        "hours": EVERY_DAY,
        "policy": {"min_notice_minutes": 60, "cancel_cutoff_minutes": 1440},
    },
]
OCCUPYING = ("booked", "honoured", "missed")  # an honoured or missed appointment still used its time
HOLD_MINUTES = 5


class Recording(Consulta):
    """Keeps the last live object of every aggregate it saved, to compare with the store."""

    name = "consulta"  # the same event store (tables, topics) as the application it extends

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(env=env)
        self.live: dict[UUID, Any] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        for obj in objs:
            self.live[obj.id] = obj
        return recordings


@dataclass
class Booking:
    practitioner: int
    starts_at: datetime
    ends_at: datetime
    mode: str
    motif: str
    profile: UUID
    status: str = "booked"


@dataclass
class Hold:
    practitioner: int
    day: date
    starts_at: datetime
    ends_at: datetime
    until: datetime
    owner: UUID


def refused_as(error: type[Exception] | None, call: Any) -> Any:
    """Run the command; its refusal (or success) must be the one the model predicted."""
    event(f"{getattr(call, '__qualname__', '').split('.')[1]}: {error.__name__ if error else 'done'}")
    try:
        result = call()
    except (
        SlotTakenError,
        VideoCapReachedError,
        BookingWindowError,
        ForbiddenError,
        BlockConflictError,
        AppointmentClosedError,
        CancellationTooLateError,
        TooEarlyError,
    ) as refusal:
        assert type(refusal) is error, f"refused with {type(refusal).__name__}, model expected {error}"
        return refusal
    assert error is None, f"accepted, model expected {error.__name__}"
    return result


class BookingMachine(RuleBasedStateMachine):
    env: dict[str, str] = POPO

    @initialize()
    def setup(self) -> None:
        self.app = Recording(self.env)
        self.now = START
        self.practitioners: list[tuple[UUID, Actor, AgendaRules]] = []
        for spec in PRACTITIONERS:
            pid, staff = add_practitioner(self.app, **spec)
            self.practitioners.append((pid, staff, self.app.get_practitioner(pid).rules))
        self.patients = [add_patient(self.app) for _ in range(2)]
        self.bookings: dict[UUID, Booking] = {}
        self.blocks: dict[UUID, tuple[int, datetime, datetime]] = {}
        self.holds: dict[UUID, Hold] = {}

    def teardown(self) -> None:
        if hasattr(self, "app"):
            self.app.close()  # give its connections back: one application per example

    # -- what the model predicts --------------------------------------------

    def _window(self, rules: AgendaRules, start: datetime, staff: bool) -> type[Exception] | None:
        if start <= self.now:
            return BookingWindowError
        if not staff and start < self.now + timedelta(minutes=rules.policy.min_notice_minutes):
            return BookingWindowError
        if not staff and start > self.now + timedelta(days=rules.policy.horizon_days):
            return BookingWindowError
        return None

    def _taken(self, p: int, start: datetime, end: datetime, by: UUID, skip: UUID | None = None) -> bool:
        return (
            any(
                b.practitioner == p
                and b.status in OCCUPYING
                and a != skip
                and overlaps(start, end, b.starts_at, b.ends_at)
                for a, b in self.bookings.items()
            )
            or any(q == p and overlaps(start, end, s, e) for q, s, e in self.blocks.values())
            or any(
                h.practitioner == p
                and h.until > self.now
                and h.owner != by
                and overlaps(start, end, h.starts_at, h.ends_at)
                for h in self.holds.values()
            )
        )

    def _videos(self, p: int, day: date, skip: UUID | None = None) -> int:
        rules = self.practitioners[p][2]
        return sum(
            1
            for a, b in self.bookings.items()
            if b.practitioner == p
            and a != skip
            and b.status in OCCUPYING
            and b.mode == "video"
            and rules.local_day(b.starts_at) == day
        )

    def _slot(self, p: int, day: int, motif: str, mode: str, index: int) -> Any:
        slots = list(self.practitioners[p][2].slots_on(DAYS[day], motif, mode))
        return slots[index % len(slots)] if slots else None

    def _drop_holds(
        self,
        p: int,
        day: date,
        keep: UUID | None = None,
        owner: UUID | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        for hold_id, h in list(self.holds.items()):
            if h.practitioner != p or h.day != day or hold_id == keep:
                continue
            mine = owner is not None and h.owner == owner and start is not None and end is not None
            if h.until <= self.now or (mine and overlaps(start, end, h.starts_at, h.ends_at)):
                del self.holds[hold_id]

    # -- commands -------------------------------------------------------------

    @rule(
        p=st.integers(0, 1),
        day=st.integers(0, 2),
        motif=st.sampled_from(["short", "long"]),
        mode=st.sampled_from(["practice", "video"]),
        index=st.integers(0, 40),
        who=st.integers(0, 2),
        use_hold=st.booleans(),
    )
    def book(self, p: int, day: int, motif: str, mode: str, index: int, who: int, use_hold: bool) -> None:
        slot = self._slot(p, day, motif, mode, index)
        if slot is None:
            return
        pid, staff, rules = self.practitioners[p]
        actor, profile_id = (staff, self.patients[0][1]) if who == 2 else self.patients[who]
        hold_id = (
            next(
                (
                    h
                    for h, v in self.holds.items()
                    if v.owner == actor.account_id and v.starts_at == slot.starts_at and v.practitioner == p
                ),
                None,
            )
            if use_hold
            else None
        )
        expected = self._window(rules, slot.starts_at, actor.is_staff)
        if expected is None and self._taken(p, slot.starts_at, slot.ends_at, actor.account_id):
            expected = SlotTakenError
        cap = rules.policy.video_daily_cap
        if expected is None and mode == "video" and cap is not None and self._videos(p, DAYS[day]) >= cap:
            expected = VideoCapReachedError
        patient_here = any(b.practitioner == p and b.profile == profile_id for b in self.bookings.values())
        if who == 2 and not patient_here:
            expected = ForbiddenError  # staff book only for a patient of the agenda; checked before the slot
        outcome = refused_as(
            expected,
            lambda: self.app.book(actor, pid, motif, mode, slot.starts_at, profile_id, self.now, hold_id),
        )
        if expected is None:
            self.bookings[outcome.id] = Booking(p, slot.starts_at, slot.ends_at, mode, motif, profile_id)
            if hold_id is not None:
                del self.holds[hold_id]

    @rule(
        p=st.integers(0, 1),
        day=st.integers(0, 2),
        motif=st.sampled_from(["short", "long"]),
        index=st.integers(0, 40),
        who=st.integers(0, 1),
    )
    def hold(self, p: int, day: int, motif: str, index: int, who: int) -> None:
        slot = self._slot(p, day, motif, "practice", index)
        if slot is None:
            return
        pid, _, rules = self.practitioners[p]
        actor, _ = self.patients[who]
        expected = self._window(rules, slot.starts_at, False)
        if expected is None and self._taken(p, slot.starts_at, slot.ends_at, actor.account_id):
            expected = SlotTakenError
        outcome = refused_as(
            expected,
            lambda: self.app.hold_slot(actor, pid, motif, "practice", slot.starts_at, self.now, HOLD_MINUTES),
        )
        if expected is None:
            self._drop_holds(p, DAYS[day], owner=actor.account_id, start=slot.starts_at, end=slot.ends_at)
            until = self.now + timedelta(minutes=HOLD_MINUTES)
            self.holds[outcome.id] = Hold(p, DAYS[day], slot.starts_at, slot.ends_at, until, actor.account_id)

    def _patient_of(self, booking: Booking) -> Actor:
        return next(actor for actor, profile_id in self.patients if profile_id == booking.profile)

    def _pick(self, index: int) -> UUID:
        ids = list(self.bookings)  # in booking order: random ids would make runs differ
        return ids[index % len(ids)]

    @precondition(lambda self: self.bookings)
    @rule(index=st.integers(0, 100), by_staff=st.booleans())
    def cancel(self, index: int, by_staff: bool) -> None:
        appointment_id = self._pick(index)
        booking = self.bookings[appointment_id]
        actor = self.practitioners[booking.practitioner][1] if by_staff else self._patient_of(booking)
        cutoff = timedelta(minutes=self.practitioners[booking.practitioner][2].policy.cancel_cutoff_minutes)
        expected: type[Exception] | None = None
        if booking.status != "booked":
            expected = AppointmentClosedError
        elif not by_staff and self.now > booking.starts_at - cutoff:
            expected = CancellationTooLateError
        refused_as(expected, lambda: self.app.cancel(actor, appointment_id, "reason", self.now))
        if expected is None:
            booking.status = "cancelled"

    @precondition(lambda self: self.bookings)
    @rule(
        index=st.integers(0, 100),
        day=st.integers(0, 2),
        slot_index=st.integers(0, 40),
        mode=st.sampled_from(["practice", "video"]),
        by_staff=st.booleans(),
    )
    def reschedule(self, index: int, day: int, slot_index: int, mode: str, by_staff: bool) -> None:
        appointment_id = self._pick(index)
        booking = self.bookings[appointment_id]
        p = booking.practitioner
        _, staff, rules = self.practitioners[p]
        slot = self._slot(p, day, booking.motif, mode, slot_index)
        if slot is None:
            return
        actor = staff if by_staff else self._patient_of(booking)
        cutoff = timedelta(minutes=rules.policy.cancel_cutoff_minutes)
        cap = rules.policy.video_daily_cap
        expected = self._window(rules, slot.starts_at, by_staff)
        if booking.status == "booked" and (slot.starts_at, mode) == (booking.starts_at, booking.mode):
            expected = None  # already there: nothing to do, whatever the time
        elif expected is not None:
            pass
        elif booking.status != "booked":
            expected = AppointmentClosedError
        elif not by_staff and self.now > booking.starts_at - cutoff:
            expected = CancellationTooLateError
        elif self._taken(p, slot.starts_at, slot.ends_at, actor.account_id, appointment_id):
            expected = SlotTakenError
        elif mode == "video" and cap is not None and self._videos(p, DAYS[day], appointment_id) >= cap:
            expected = VideoCapReachedError
        refused_as(
            expected, lambda: self.app.reschedule(actor, appointment_id, slot.starts_at, self.now, mode)
        )
        if expected is None:
            booking.starts_at, booking.ends_at, booking.mode = slot.starts_at, slot.ends_at, mode

    @rule(p=st.integers(0, 1), day=st.integers(0, 2), quarter=st.integers(0, 95), hours=st.integers(1, 30))
    def block(self, p: int, day: int, quarter: int, hours: int) -> None:
        pid, staff, rules = self.practitioners[p]
        start = rules.day_bounds(DAYS[day])[0] + timedelta(minutes=15 * quarter)
        end = start + timedelta(hours=hours)
        inside = sorted(  # honoured and missed ones cannot be cancelled: they do not stop a block
            str(a)
            for a, b in self.bookings.items()
            if b.practitioner == p and b.status == "booked" and overlaps(start, end, b.starts_at, b.ends_at)
        )
        refusal = refused_as(
            BlockConflictError if inside else None,
            lambda: self.app.block_period(staff, pid, start, end, self.now),
        )
        if inside:
            assert sorted(refusal.appointment_ids) == inside
        else:
            self.blocks[refusal.id] = (p, start, end)

    @precondition(lambda self: self.blocks)
    @rule(index=st.integers(0, 100))
    def lift(self, index: int) -> None:
        block_id = list(self.blocks)[index % len(self.blocks)]
        p, start, end = self.blocks.pop(block_id)
        pid, staff, _ = self.practitioners[p]
        self.app.lift_block(staff, pid, block_id, start, end)

    @precondition(lambda self: self.bookings)
    @rule(index=st.integers(0, 100), honoured=st.booleans())
    def close(self, index: int, honoured: bool) -> None:
        appointment_id = self._pick(index)
        booking = self.bookings[appointment_id]
        staff = self.practitioners[booking.practitioner][1]
        expected: type[Exception] | None = None
        if booking.status != "booked":
            expected = AppointmentClosedError
        elif self.now < booking.starts_at:
            expected = TooEarlyError
        command = self.app.mark_honoured if honoured else self.app.mark_missed
        refused_as(expected, lambda: command(staff, appointment_id, self.now))
        if expected is None:
            booking.status = "honoured" if honoured else "missed"

    @rule(minutes=st.sampled_from([1, 4, 5, 30, 120, 600]))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    # -- invariants against the store ---------------------------------------

    def _stored_days(self, p: int) -> list[AgendaDay]:
        pid = self.practitioners[p][0]
        days = []
        for day in [*DAYS, DAYS[-1] + timedelta(days=1), DAYS[-1] + timedelta(days=2)]:
            try:
                days.append(self.app.repository.get(AgendaDay.id_for(pid, day)))
            except AggregateNotFoundError:  # an agenda day exists once something touched it
                continue
        return days

    @invariant()
    def the_store_keeps_every_rule(self) -> None:
        if not hasattr(self, "app"):
            return
        for p, (pid, _, rules) in enumerate(self.practitioners):
            days = self._stored_days(p)
            ids = {UUID(a) for d in days for a in d.appointments} | {
                a for a, b in self.bookings.items() if b.practitioner == p
            }
            stored = [self.app.repository.get(a) for a in sorted(ids)]
            assert all(isinstance(a, Appointment) and a.practitioner_id == pid for a in stored)
            active = sorted((a for a in stored if a.status == "booked"), key=lambda a: a.starts_at)
            for before, after in pairwise(active):
                assert before.ends_at <= after.starts_at, "two active appointments overlap"
            blocks = [(s, e) for d in days for s, e in d.blocks.values()]
            assert not any(overlaps(a.starts_at, a.ends_at, s, e) for a in active for s, e in blocks)
            for day in days:
                using = {
                    str(a.id): [a.starts_at, a.ends_at, a.mode]
                    for a in stored
                    if a.status in OCCUPYING and rules.local_day(a.starts_at) == day.day
                }
                assert day.appointments == using, "the agenda day disagrees with the appointments"
                cap = rules.policy.video_daily_cap
                assert cap is None or sum(1 for *_, m in day.appointments.values() if m == "video") <= cap
            for a in stored:  # the model agrees with the store
                model = self.bookings[a.id]
                assert (a.status, a.starts_at, a.ends_at, a.mode) == (
                    model.status,
                    model.starts_at,
                    model.ends_at,
                    model.mode,
                )

    @invariant()
    def reloaded_equals_live(self) -> None:
        if not hasattr(self, "app"):
            return
        for aggregate_id, live in self.app.live.items():
            assert self.app.repository.get(aggregate_id).__dict__ == live.__dict__
