"""A per-process cache in front of the read models, for the agenda pages.

An entry is keyed on the positions of the projections it was read from, as
this process's `PositionWatcher` knows them (in memory, no query): the
positions are taken *before* the queries run, so an entry always holds data
at least as new as its key. Once a command's read-your-writes wait has
returned, the watcher is at or past the command's position, the key has
moved, and the next page reads again: it never shows a slot taken (or hides
one freed) by a command it waited for.

Free slots also change with time alone: the notice moves (slots too close to
now drop out), holds expire, the horizon moves. An entry is therefore used
only from the instant it was computed until the earliest of a minute later
and the first expiry of a hold it saw; slots within notice are dropped at
each use, against the request's own clock. What a minute's entry can miss:
a slot that enters the booking horizon during that minute (it shows up at
the next computation, at most a minute late).

With no watcher running (a process that does not follow the positions),
nothing is cached.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from consulta.aggregates.rules import Slot
from consulta.projections.positions import PositionWatcher
from consulta.projections.views import PractitionerCard, ReadModels

DIRECTORY, AGENDA, PROFILES = "practitioner_directory", "agenda", "profiles"
LIFETIME = timedelta(minutes=1)
# Slots computed beyond what a page asked for: a minute of moving notice drops at most a few.
MARGIN = 8


class _Slots:
    """Free slots as computed at `computed_at`, usable until `valid_until`."""

    __slots__ = ("computed_at", "full", "slots", "starts", "valid_until")

    def __init__(self, computed_at: datetime, valid_until: datetime, slots: list[Slot], full: bool) -> None:
        self.computed_at, self.valid_until, self.slots, self.full = computed_at, valid_until, slots, full
        self.starts = [s.starts_at.timestamp() for s in slots]

    def from_(self, earliest: datetime) -> list[Slot]:
        return self.slots[bisect_left(self.starts, earliest.timestamp()) :]


class CachedReads:
    def __init__(self, reads: ReadModels, watcher: PositionWatcher | None, size: int = 1024) -> None:
        self.reads = reads
        self.watcher = watcher
        self.size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _positions(self, *names: str) -> tuple[int, ...] | None:
        thread = getattr(self.watcher, "_thread", None)
        if thread is None or not thread.is_alive():
            return None
        snapshot = self.watcher.snapshot()  # type: ignore[union-attr]
        return tuple(snapshot.get(n, 0) for n in names)

    def _get(self, key: Any) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def _put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def _cached(self, key: Any, positions: tuple[int, ...] | None, compute: Callable[[], Any]) -> Any:
        if positions is None:
            return compute()
        full_key = (key, positions)
        found = self._get(full_key)
        if found is None:
            found = (compute(),)
            self._put(full_key, found)
        return found[0]

    def page_positions(self) -> tuple[int, ...] | None:
        """The positions a rendered fragment depends on; take them before reading anything for it."""
        return self._positions(DIRECTORY, AGENDA, PROFILES)

    def remember(self, key: Any, positions: tuple[int, ...] | None, compute: Callable[[], Any]) -> Any:
        """`compute()`, kept until the positions move (taken by the caller before it read its data)."""
        return self._cached(key, positions, compute)

    # -- what the pages read -------------------------------------------------

    def practitioner(self, practitioner_id: UUID) -> PractitionerCard | None:
        """The card with its parsed rules; read again once the directory moves."""
        return self._cached(  # type: ignore[no-any-return]
            ("card", practitioner_id),
            self._positions(DIRECTORY),
            lambda: self.reads.practitioner(practitioner_id),
        )

    def agenda(
        self, practitioner_id: UUID, start: datetime, end: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Appointments (with names and motifs) and blocks: callers must copy before changing a row."""
        return self._cached(  # type: ignore[no-any-return]
            ("agenda", practitioner_id, start, end),
            self._positions(AGENDA, PROFILES, DIRECTORY),
            lambda: self.reads.agenda(practitioner_id, start, end),
        )

    def free_slots(
        self,
        card: PractitionerCard,
        motif_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        mode: str | None = None,
        staff: bool = False,
        limit: int = 500,
    ) -> list[Slot]:
        """What `ReadModels.free_slots` answers at `now`, from an entry of the last minute when it can."""
        positions = self._positions(DIRECTORY, AGENDA)
        if positions is None:
            return self.reads.free_slots(card, motif_id, start, end, now, mode, staff, limit)
        policy = card.rules.policy
        earliest = now if staff else now + timedelta(minutes=policy.min_notice_minutes)
        latest = end if staff else min(end, now + timedelta(days=policy.horizon_days))
        # A window that starts before now means "from now" (and one past the horizon "to the horizon"):
        # the answer then depends on the clock only, which the entry's lifetime and the filters below handle.
        key_start = None if start <= now else start
        key_end = None if not staff and end >= now + timedelta(days=policy.horizon_days) else end
        key = ("slots", card.id, motif_id, mode, staff, limit, key_start, key_end, positions)
        entry = self._get(key)
        if entry is None or not entry.computed_at <= now < entry.valid_until:
            entry = self._compute(card, motif_id, start, end, now, mode, staff, limit)
            self._put(key, entry)
        slots = [s for s in entry.from_(earliest) if s.starts_at < latest]
        if entry.full and len(slots) < limit:  # the moving notice ate more than the margin
            entry = self._compute(card, motif_id, start, end, now, mode, staff, limit)
            self._put(key, entry)
            slots = entry.slots
        return slots[:limit]

    def _compute(
        self, card: PractitionerCard, motif_id: str, start: datetime, end: datetime, now: datetime,
        mode: str | None, staff: bool, limit: int,
    ) -> _Slots:  # fmt: skip
        expiries: list[datetime] = []
        wanted = limit + MARGIN
        slots = self.reads.free_slots(card, motif_id, start, end, now, mode, staff, wanted, expiries)
        valid_until = min([now + LIFETIME, *expiries])
        return _Slots(now, valid_until, slots, len(slots) >= wanted)
