"""Rooms and peers: one RTCPeerConnection per participant, a 1:1 relay between the two.

Each peer sends out one `Switch` track per kind (audio, video). A switch
forwards frames from whatever source is attached: the other participant's
track (through one `MediaRelay`) when both are there, the peer's own track in
a self-test (the echo), nothing while alone. Attaching needs no
renegotiation, so a participant who reloads simply reconnects and the other
side's switch picks up the new track.

The `chat` data channel carries JSON messages `{"kind": "text", "text": ...}`;
other kinds (a shared document, later) pass through the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)
CHAT_KINDS = ("text",)
MAX_CHAT_CHARS = 2000


class Switch(MediaStreamTrack):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self.wired_to: MediaStreamTrack | None = None  # the track the relayed source comes from
        self._changed = asyncio.Event()

    def attach(self, source: MediaStreamTrack | None) -> None:
        self._source = source
        self._changed.set()

    async def recv(self) -> Any:
        while self.readyState == "live":
            source = self._source
            if source is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                return await source.recv()
            except MediaStreamError:
                if self._source is source:
                    self._source = None
        raise MediaStreamError


class Peer:
    def __init__(self, role: str, participant: str, configuration: RTCConfiguration) -> None:
        self.role, self.participant = role, participant
        self.pc = RTCPeerConnection(configuration)
        self.incoming: dict[str, MediaStreamTrack] = {}
        self.outgoing = {kind: Switch(kind) for kind in ("audio", "video")}
        self.chat: Any = None
        self.on_change: Callable[[], None] = lambda: None
        self.on_chat: Callable[[Peer, dict[str, Any]], None] = lambda peer, message: None
        self.on_failed: Callable[[Peer], None] = lambda peer: None

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind in self.outgoing:
                self.incoming[track.kind] = track
                self.on_change()

        @self.pc.on("datachannel")
        def _channel(channel: Any) -> None:
            if channel.label != "chat":
                return
            self.chat = channel

            @channel.on("message")
            def _message(raw: Any) -> None:
                message = parse_chat(raw)
                if message is not None:
                    self.on_chat(self, message)

        @self.pc.on("connectionstatechange")
        async def _state() -> None:
            if self.pc.connectionState in ("failed", "closed"):
                self.on_failed(self)

    async def answer(self, sdp: str) -> str:
        """Accept the participant's offer; raise ValueError on SDP that is not an offer we can take."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not self.pc.getTransceivers():
            raise ValueError("an offer without audio or video")
        for transceiver in self.pc.getTransceivers():
            switch = self.outgoing.get(transceiver.kind)
            if switch is not None and transceiver.sender.track is None:
                transceiver.sender.replaceTrack(switch)
                transceiver.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def send_chat(self, message: dict[str, Any]) -> None:
        if self.chat is not None and self.chat.readyState == "open":
            self.chat.send(json.dumps(message))

    async def close(self) -> None:
        for switch in self.outgoing.values():
            switch.attach(None)
            switch.stop()
        await self.pc.close()


def parse_chat(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str) or len(raw) > 4 * MAX_CHAT_CHARS:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") not in CHAT_KINDS:
        return None
    text = data.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_CHARS:
        return None
    return {"kind": "text", "text": text}


class Room:
    """At most one peer per role; the same participant reconnecting replaces their old peer."""

    def __init__(self, name: str, relay: MediaRelay) -> None:
        self.name, self.relay = name, relay
        self.peers: dict[str, Peer] = {}
        self.selftest = name.startswith("selftest:")

    def admits(self, role: str, participant: str) -> bool:
        if self.selftest:
            return role == "selftest"
        current = self.peers.get(role)
        return role in ("patient", "practitioner") and (current is None or current.participant == participant)

    def other(self, peer: Peer) -> Peer | None:
        for role, candidate in self.peers.items():
            if role != peer.role:
                return candidate
        return None

    def wire(self) -> None:
        """Attach every peer's outgoing switches to the right sources (echo in a self-test)."""
        for peer in self.peers.values():
            source = peer if self.selftest else self.other(peer)
            for kind, switch in peer.outgoing.items():
                track = source.incoming.get(kind) if source else None
                if switch.wired_to is not track:
                    switch.wired_to = track
                    switch.attach(self.relay.subscribe(track, buffered=False) if track is not None else None)

    def relay_chat(self, sender: Peer, message: dict[str, Any]) -> None:
        target = sender if self.selftest else self.other(sender)
        if target is not None:
            target.send_chat({**message, "from": sender.role})
