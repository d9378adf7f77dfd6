"""A practitioner's agenda rules and the slots they offer.

Rules are plain data (the same dicts are stored in events and in the
directory read model), so the booking command and the pages compute slots
with the same code. Instants are aware UTC datetimes; opening hours are local
wall-clock times in the practitioner's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import (
    BookingWindowError,
    InvalidInputError,
    MotifNotBookableError,
    NotFoundError,
    SlotNotOfferedError,
)

MODES = ("practice", "video")
DEFAULT_TIMEZONE = "Europe/Paris"


def parse_hhmm(value: str) -> time:
    try:
        hour, minute = value.split(":")
        return time(int(hour), int(minute))
    except (ValueError, AttributeError):
        raise InvalidInputError(f"not a time of day: {value!r}") from None


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone: {name!r}") from None


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant at which a local wall-clock time is first reached on a day.

    On the autumn change, 02:30 happens twice in Europe/Paris: the first one
    (fold=0) is taken, so no slot is duplicated. On the spring change, 02:30
    does not exist: the clock jumps from 02:00 to 03:00, and the instant of
    that jump is taken, so a range 02:00-04:00 still offers 03:00-04:00
    (nothing that exists is lost) and one ending at 02:30 stops at the jump.
    """
    naive = datetime.combine(day, at)
    utc = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) == naive:
        return utc
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    # A gap: before `low` the clock reads earlier than `naive`, from `high` on later.
    low, high = int(min(utc, other).timestamp()), int(max(utc, other).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


@dataclass(frozen=True)
class OpeningRange:
    weekday: int  # 0 = Monday
    start: time
    end: time
    place: str  # "practice" or "video"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpeningRange:
        weekday = int(data["weekday"])
        start, end = parse_hhmm(data["start"]), parse_hhmm(data["end"])
        place = str(data["place"])
        if not 0 <= weekday <= 6 or start >= end or place not in MODES:
            raise InvalidInputError("an opening range needs a weekday, start < end and a place")
        return cls(weekday, start, end, place)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weekday": self.weekday,
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "place": self.place,
        }


@dataclass(frozen=True)
class ReservedPeriod:
    """Weekly local period that only the listed motifs may take."""

    weekday: int
    start: time
    end: time
    motif_ids: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReservedPeriod:
        weekday = int(data["weekday"])
        start, end = parse_hhmm(data["start"]), parse_hhmm(data["end"])
        if not 0 <= weekday <= 6 or start >= end:
            raise InvalidInputError("a reserved period needs a weekday and start < end")
        return cls(weekday, start, end, tuple(str(m) for m in data["motif_ids"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "weekday": self.weekday,
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "motif_ids": list(self.motif_ids),
        }


@dataclass(frozen=True)
class Motif:
    id: str
    name: str
    duration_minutes: int
    modes: tuple[str, ...]
    online: bool = True
    new_patients: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Motif:
        modes = tuple(str(m) for m in data["modes"])
        duration = int(data["duration_minutes"])
        if not modes or any(m not in MODES for m in modes):
            raise InvalidInputError("a motif is offered at the practice, by video or both")
        if not 5 <= duration <= 240 or duration % 5:
            raise InvalidInputError("a motif lasts 5 to 240 minutes, in steps of 5")
        name = str(data["name"]).strip()
        if not name or len(name) > 120:
            raise InvalidInputError("a motif needs a name of at most 120 characters")
        motif_id = str(data["id"])
        allowed = all(c.isascii() and (c.isalnum() or c in "-_") for c in motif_id)
        if not 1 <= len(motif_id) <= 64 or not allowed:
            raise InvalidInputError("a motif id has 1 to 64 letters, digits, '-' or '_'")
        return cls(
            id=motif_id,
            name=name,
            duration_minutes=duration,
            modes=modes,
            online=bool(data.get("online", True)),
            new_patients=bool(data.get("new_patients", True)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "duration_minutes": self.duration_minutes,
            "modes": list(self.modes),
            "online": self.online,
            "new_patients": self.new_patients,
        }


@dataclass(frozen=True)
class Policy:
    timezone: str = DEFAULT_TIMEZONE
    min_notice_minutes: int = 120
    horizon_days: int = 60
    cancel_cutoff_minutes: int = 240
    video_daily_cap: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        policy = cls(
            timezone=str(data.get("timezone", DEFAULT_TIMEZONE)),
            min_notice_minutes=int(data.get("min_notice_minutes", 120)),
            horizon_days=int(data.get("horizon_days", 60)),
            cancel_cutoff_minutes=int(data.get("cancel_cutoff_minutes", 240)),
            video_daily_cap=(None if data.get("video_daily_cap") is None else int(data["video_daily_cap"])),
        )
        zone_of(policy.timezone)
        if (
            policy.min_notice_minutes < 0
            or not 1 <= policy.horizon_days <= 366
            or policy.cancel_cutoff_minutes < 0
            or (policy.video_daily_cap is not None and policy.video_daily_cap < 0)
        ):
            raise InvalidInputError("notice, horizon, cut-off and cap must be positive")
        return policy

    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "min_notice_minutes": self.min_notice_minutes,
            "horizon_days": self.horizon_days,
            "cancel_cutoff_minutes": self.cancel_cutoff_minutes,
            "video_daily_cap": self.video_daily_cap,
        }


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    motif_id: str
    mode: str


@dataclass(frozen=True)
class AgendaRules:
    policy: Policy = field(default_factory=Policy)
    hours: tuple[OpeningRange, ...] = ()
    motifs: tuple[Motif, ...] = ()
    reserved: tuple[ReservedPeriod, ...] = ()

    @classmethod
    def from_data(
        cls,
        policy: Mapping[str, Any],
        hours: Iterable[Mapping[str, Any]],
        motifs: Iterable[Mapping[str, Any]],
        reserved: Iterable[Mapping[str, Any]] = (),
    ) -> AgendaRules:
        return cls(
            policy=Policy.from_dict(policy),
            hours=tuple(OpeningRange.from_dict(h) for h in hours),
            motifs=tuple(Motif.from_dict(m) for m in motifs),
            reserved=tuple(ReservedPeriod.from_dict(r) for r in reserved),
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.policy.timezone)

    def motif(self, motif_id: str) -> Motif:
        for motif in self.motifs:
            if motif.id == motif_id:
                return motif
        raise NotFoundError("unknown motif")

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """UTC instants of local midnight to the next local midnight."""
        zone = self.zone
        start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return start, end

    def slots_on(self, day: date, motif_id: str, mode: str | None = None) -> Iterator[Slot]:
        """Every slot the rules offer for a motif on a local day, in order.

        Slots start at the start of an opening range and follow each other by
        the motif's duration; a slot must end inside its range and must not
        touch a period reserved for other motifs.
        """
        motif = self.motif(motif_id)
        zone = self.zone
        length = timedelta(minutes=motif.duration_minutes)
        found: list[Slot] = []
        for opening in self.hours:
            if opening.weekday != day.weekday() or opening.place not in motif.modes:
                continue
            if mode is not None and opening.place != mode:
                continue
            start = local_instant(day, opening.start, zone)
            end = local_instant(day, opening.end, zone)
            cursor = start
            while cursor + length <= end:
                if not self._reserved_against(day, cursor, cursor + length, motif.id):
                    found.append(Slot(cursor, cursor + length, motif.id, opening.place))
                cursor += length
        found.sort(key=lambda s: (s.starts_at, s.mode))
        yield from found

    def _reserved_against(self, day: date, start: datetime, end: datetime, motif_id: str) -> bool:
        zone = self.zone
        for period in self.reserved:
            if period.weekday != day.weekday() or motif_id in period.motif_ids:
                continue
            p_start = local_instant(day, period.start, zone)
            p_end = local_instant(day, period.end, zone)
            if start < p_end and p_start < end:
                return True
        return False

    def check_bookable(
        self,
        motif_id: str,
        mode: str,
        starts_at: datetime,
        now: datetime,
        *,
        staff: bool,
    ) -> Slot:
        """The slot at `starts_at`, or the rule that refuses it.

        Staff (the practitioner, later a secretary) may book motifs closed to
        online booking and inside the minimum notice, but never in the past
        nor outside the slots the rules offer.
        """
        if starts_at.tzinfo is None:
            raise InvalidInputError("times must carry their UTC offset")
        if mode not in MODES:
            raise InvalidInputError("mode is 'practice' or 'video'")
        motif = self.motif(motif_id)
        if mode not in motif.modes:
            raise MotifNotBookableError("this motif is not offered in this mode")
        if not staff and not motif.online:
            raise MotifNotBookableError("this motif is not bookable online")
        starts_at = starts_at.astimezone(UTC)
        if starts_at <= now:
            raise BookingWindowError("this time is in the past")
        if not staff:
            if starts_at < now + timedelta(minutes=self.policy.min_notice_minutes):
                raise BookingWindowError("too close to now: minimum notice not met")
            if starts_at > now + timedelta(days=self.policy.horizon_days):
                raise BookingWindowError("beyond the booking horizon")
        for slot in self.slots_on(self.local_day(starts_at), motif_id, mode):
            if slot.starts_at == starts_at:
                return slot
        raise SlotNotOfferedError("no slot of this motif starts at this time")


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end
