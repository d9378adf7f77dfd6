"""What the live teleconsultation pages share: the fan-out of read-model progress and the patient's presence.

**Fan-out.** Each web process already follows the projections' progress with
one `PositionWatcher` (one LISTEN connection). `LiveFeed` adds one thread that
waits on it for the `waiting_room` projection and wakes every open stream of
the process (an `asyncio.Event` each); a stream then reads its own rows. No
stream holds a PostgreSQL connection of its own or polls the database.

**Presence.** A patient is "here" while their browser shows a heartbeat: the
waiting and call pages' event stream refreshes a key in the shared store
(Redis; memory in dev) every `presence_seconds() / 3`, and every load of
those pages does too (the no-JavaScript refresh). The key expires after
`presence_seconds()` (30 s; `CONSULTA_TELE_PRESENCE_SECONDS`), so a killed
browser shows as "connection lost" on the dashboard within that time plus
one tick. Presence is only computed: no event is recorded when it lapses
(docs/teleconsultation.md says why).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any
from uuid import UUID

from consulta.http.pages_common import AnyRequest, services_of

PRESENCE_SECONDS = 30
VIEW = "waiting_room"


def presence_seconds(app: Any) -> int:
    """How long a patient stays "here" after their last heartbeat (app.state may override it, for tests)."""
    chosen = app.state.get("tele_presence_seconds")
    if chosen is None:
        chosen = os.environ.get("CONSULTA_TELE_PRESENCE_SECONDS") or PRESENCE_SECONDS
    return max(2, int(chosen))


def tick_seconds(app: Any) -> float:
    """How often a stream refreshes without news: a heartbeat, a presence check, the minutes waited."""
    return max(0.5, presence_seconds(app) / 3)


def _presence_key(consultation_id: UUID) -> str:
    return f"tele-presence:{consultation_id}"


async def heartbeat(request: AnyRequest, consultation_id: UUID) -> None:
    store = request.app.stores.get("sessions")
    await store.set(_presence_key(consultation_id), b"1", expires_in=presence_seconds(request.app))


async def present(request: AnyRequest, consultation_ids: list[UUID]) -> set[UUID]:
    """The consultations whose patient showed a heartbeat within the presence time."""
    store = request.app.stores.get("sessions")
    return {c for c in consultation_ids if await store.get(_presence_key(c)) is not None}


class LiveFeed:
    """One thread per process: wakes the subscribed streams when the waiting room's read model moves."""

    def __init__(self, watcher: Any) -> None:
        self.watcher = watcher
        self._subscribers: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def subscribe(self) -> asyncio.Event:
        woken = asyncio.Event()
        with self._lock:
            self._subscribers[woken] = asyncio.get_running_loop()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._follow, name="tele-live-feed", daemon=True)
                self._thread.start()
        return woken

    def unsubscribe(self, woken: asyncio.Event) -> None:
        with self._lock:
            self._subscribers.pop(woken, None)

    def _follow(self) -> None:
        """Runs while someone listens; the next subscriber starts it again."""
        seen = self.watcher.snapshot().get(VIEW, 0)
        while True:
            moved = self.watcher.wait((VIEW,), seen + 1, timeout=1.0)
            with self._lock:
                if not self._subscribers:
                    self._thread = None
                    return
                targets = list(self._subscribers.items())
            if moved:
                seen = self.watcher.snapshot().get(VIEW, seen)
                for woken, loop in targets:
                    try:
                        loop.call_soon_threadsafe(woken.set)
                    except RuntimeError:  # that stream's loop is closed
                        self.unsubscribe(woken)


def live_feed(request: AnyRequest) -> LiveFeed:
    state = request.app.state
    found = state.get("tele_live_feed")
    if found is None:
        found = state.tele_live_feed = LiveFeed(services_of(request).watcher)
    return found  # type: ignore[no-any-return]
