"""An aiortc participant for tests and benchmarks: signals over the media service's websocket.

It sends a numbered video pattern (`NumberedVideo`: the frame number is drawn
as 16 large black or white blocks, which survive VP8) and silence, and counts
what it receives: video frames (with the numbers it can read back), audio
frames and chat messages.
"""

from __future__ import annotations

import asyncio
import json
import time
from fractions import Fraction
from typing import Any

import av
import websockets
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

BITS, BLOCK = 16, 20  # 16 blocks of 20x20 pixels along the top of the frame


class NumberedVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, width: int = 320, height: int = 180, fps: int = 15, first: int = 0) -> None:
        super().__init__()
        self.width, self.height, self.fps, self.first = width, height, fps, first
        self.sent = 0
        self.sent_at: dict[int, float] = {}
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / self.fps - time.monotonic()
        number = (self.first + self.sent) % 65536
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.VideoFrame(self.width, self.height, "gray")
        plane = frame.planes[0]
        row = bytearray(plane.line_size)
        for bit in range(BITS):
            value = 255 if (number >> bit) & 1 else 0
            row[bit * BLOCK : (bit + 1) * BLOCK] = bytes([value]) * BLOCK
        data = bytes(row) * BLOCK + bytes([128]) * (plane.line_size * (self.height - BLOCK))
        plane.update(data)
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = self.sent * (90000 // self.fps), Fraction(1, 90000)
        self.sent_at[number] = time.monotonic()
        self.sent += 1
        return frame


def read_number(frame: av.VideoFrame) -> int | None:
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    if gray.width < BITS * BLOCK:
        return None
    line = bytes(plane)[plane.line_size * (BLOCK // 2) : plane.line_size * (BLOCK // 2) + BITS * BLOCK]
    return sum(1 << bit for bit in range(BITS) if line[bit * BLOCK + BLOCK // 2] > 128)


class Participant:
    def __init__(self, url: str, origin: str, video: NumberedVideo | None = None) -> None:
        self.url, self.origin = url, origin
        self.video = video or NumberedVideo()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = 0
        self.audio_frames = 0
        self.numbers: list[int] = []
        self.latencies: list[float] = []  # seconds from sent (by `latency_source`) to received
        self.latency_source: NumberedVideo | None = None
        self.chat: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.socket: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self.channel = self.pc.createDataChannel("chat")
        self.channel.on("message", lambda raw: self.chat.append(json.loads(raw)))
        self.pc.on("track", self._on_track)
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(self.video)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if track.kind == "audio":
                    self.audio_frames += 1
                    continue
                self.frames += 1
                number = read_number(frame)
                if number is not None:
                    self.numbers.append(number)
                    source = self.latency_source
                    if source is not None and number in source.sent_at:
                        self.latencies.append(time.monotonic() - source.sent_at[number])
        except MediaStreamError:
            return

    async def join(self, token: str) -> dict[str, Any]:
        """Hello, offer, answer. Returns the `ready` message; raises RuntimeError with the server's refusal."""
        self.socket = await websockets.connect(self.url, origin=self.origin)
        await self.socket.send(json.dumps({"type": "hello", "token": token}))
        ready = await self.receive()
        if ready.get("type") != "ready":
            raise RuntimeError(ready.get("error", "refused"))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.socket.send(json.dumps({"type": "offer", "sdp": self.pc.localDescription.sdp}))
        answer = await self.receive("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self._tasks.append(asyncio.ensure_future(self._listen()))
        return ready

    async def receive(self, wanted: str | None = None) -> dict[str, Any]:
        while True:
            try:
                message = json.loads(await asyncio.wait_for(self.socket.recv(), 20))
            except websockets.ConnectionClosed as closed:
                return {"type": "error", "error": closed.rcvd.reason if closed.rcvd else "closed"}
            if wanted is None or message.get("type") in (wanted, "error"):
                if message.get("type") == "error":
                    raise RuntimeError(message["error"])
                return message
            self.events.append(message)

    async def _listen(self) -> None:
        try:
            async for raw in self.socket:
                self.events.append(json.loads(raw))
        except websockets.ConnectionClosed:
            return

    def say(self, text: str) -> None:
        self.channel.send(json.dumps({"kind": "text", "text": text}))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.socket is not None:
            await self.socket.close()
        await self.pc.close()
