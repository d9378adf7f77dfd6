"""The media service: websocket signalling, rooms of peers, a health endpoint.

Protocol (JSON text messages on `/media/ws`):
  client: {"type": "hello", "token": "<room token>"}       first, within 5 s
  server: {"type": "ready", "role": ..., "peer": bool}      admitted to the room
  client: {"type": "offer", "sdp": "..."}                   once, ICE gathered (no trickle)
  server: {"type": "answer", "sdp": "..."}
  server: {"type": "peer", "present": bool}                 the other side arrived or left
  client: {"type": "leave"}
  server: {"type": "error", "error": "..."} then closes: bad token, room full, bad offer, too many messages.
The `Origin` of every connection must be one of the web app's origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy
from aiortc.contrib.media import MediaRelay
from litestar import Litestar, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect

from .config import MediaConfig
from .ports import PortRangeError, check_udp_ports
from .replay import used_tokens
from .rooms import Peer, Room
from .tokens import TokenRefused, TokenVerifier

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 64 * 1024
FLOOD_WINDOW_SECONDS, FLOOD_MAX_MESSAGES = 10.0, 30
HELLO_SECONDS = 5.0


class Refused(Exception):
    def __init__(self, error: str, code: int) -> None:
        super().__init__(error)
        self.error, self.code = error, code


class MediaService:
    def __init__(self, config: MediaConfig, clock: Callable[[], float] = time.time) -> None:
        self.config, self.clock = config, clock
        self.verifier = TokenVerifier(config.key)
        self.used_tokens = used_tokens(config.redis_url)
        self.relay = MediaRelay()
        self.rooms: dict[str, Room] = {}
        self.sockets: dict[int, WebSocket] = {}  # id(peer) -> its signalling socket
        self._tasks: set[asyncio.Task[Any]] = set()

    def rtc_configuration(self) -> RTCConfiguration:
        """The service's own ICE servers: none offline; with TURN, fresh time-limited credentials per peer."""
        servers = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in self.config.ice_servers("media-service", self.clock())
        ]
        policy = RTCIceTransportPolicy.RELAY if self.config.relay_only else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)

    def stats(self) -> dict[str, int]:
        return {"rooms": len(self.rooms), "peers": sum(len(r.peers) for r in self.rooms.values())}

    async def serve(self, socket: WebSocket) -> None:
        if socket.headers.get("origin") not in self.config.allowed_origins:
            await socket.close(code=4403, reason="origin")
            return
        await socket.accept()
        peer: Peer | None = None
        room: Room | None = None
        try:
            room, peer = await self._admit(socket)
            await self._converse(socket, room, peer)
        except Refused as refused:
            await self._send(socket, {"type": "error", "error": refused.error})
            await socket.close(code=refused.code)
        except (WebSocketDisconnect, asyncio.CancelledError):
            pass
        finally:
            if room is not None and peer is not None:
                await self.drop(room, peer)

    async def _admit(self, socket: WebSocket) -> tuple[Room, Peer]:
        try:
            hello = _parse(await asyncio.wait_for(socket.receive_text(), HELLO_SECONDS))
        except TimeoutError:
            raise Refused("hello expected", 4408) from None
        if hello.get("type") != "hello":
            raise Refused("hello expected", 4400)
        try:
            now = self.clock()
            claims = self.verifier.read(str(hello.get("token", "")), now)
            if not await self.used_tokens.first_use(claims.token_id, claims.expires, now):
                raise TokenRefused("replayed")
        except TokenRefused:
            raise Refused("token refused", 4401) from None
        if self.stats()["peers"] >= self.config.max_peers:
            raise Refused("busy", 4503)
        room = self.rooms.get(claims.room) or Room(claims.room, self.relay)
        if not room.admits(claims.role, claims.participant):
            raise Refused("room full", 4409)
        self.rooms[claims.room] = room
        if (old := room.peers.get(claims.role)) is not None:
            await self.drop(room, old)  # the same participant again: a reload or a new network
        peer = Peer(claims.role, claims.participant, self.rtc_configuration())
        room.peers[claims.role] = peer
        self.sockets[id(peer)] = socket
        peer.on_change = room.wire
        peer.on_chat = room.relay_chat
        peer.on_failed = lambda p: self._later(self.drop(room, p))
        other = room.other(peer)
        await self._send(socket, {"type": "ready", "role": peer.role, "peer": other is not None})
        if other is not None:
            await self._send(self.sockets.get(id(other)), {"type": "peer", "present": True})
        return room, peer

    async def _converse(self, socket: WebSocket, room: Room, peer: Peer) -> None:
        received: list[float] = []
        answered = False
        while room.peers.get(peer.role) is peer:
            text = await socket.receive_text()
            now = time.monotonic()
            received = [t for t in received if now - t < FLOOD_WINDOW_SECONDS] + [now]
            if len(received) > FLOOD_MAX_MESSAGES or len(text) > MAX_MESSAGE_CHARS:
                raise Refused("too many messages", 4429)
            message = _parse(text)
            if message.get("type") == "leave":
                return
            if message.get("type") != "offer" or answered or not isinstance(message.get("sdp"), str):
                raise Refused("unexpected message", 4400)
            try:
                sdp = await asyncio.wait_for(peer.answer(message["sdp"]), 15)
            except Exception:  # aiortc raises many kinds on bad SDP; none may take the service down
                log.info("refused an offer that could not be answered")
                raise Refused("bad offer", 4400) from None
            answered = True
            await self._send(socket, {"type": "answer", "sdp": sdp})

    async def drop(self, room: Room, peer: Peer) -> None:
        if room.peers.get(peer.role) is peer:
            del room.peers[peer.role]
            room.wire()
            other = room.other(peer) or next(iter(room.peers.values()), None)
            if other is not None:
                await self._send(self.sockets.get(id(other)), {"type": "peer", "present": False})
        socket = self.sockets.pop(id(peer), None)
        if not room.peers and self.rooms.get(room.name) is room:
            del self.rooms[room.name]
        await peer.close()
        if socket is not None:
            with contextlib.suppress(Exception):  # already closed by the client
                await socket.close()

    async def shutdown(self) -> None:
        for room in list(self.rooms.values()):
            for peer in list(room.peers.values()):
                await self.drop(room, peer)
        await self.used_tokens.close()

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _send(socket: WebSocket | None, message: dict[str, Any]) -> None:
        if socket is None:
            return
        with contextlib.suppress(Exception):  # the other side is gone; its own handler cleans up
            await socket.send_text(json.dumps(message))


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if len(text) <= MAX_MESSAGE_CHARS else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Refused("unexpected message", 4400)
    return data


def media_handlers(service: MediaService, health_paths: list[str]) -> list[Any]:
    @websocket("/media/ws")
    async def signalling(socket: WebSocket) -> None:
        await service.serve(socket)

    @get(health_paths, cache_control=None)
    async def health() -> dict[str, Any]:
        return {"status": "ok", **service.stats()}

    return [signalling, health]


def create_media_app(config: MediaConfig, clock: Callable[[], float] = time.time) -> Litestar:
    """The standalone service (`consulta media`); refuses to start outside the UDP range it must use."""
    try:
        check_udp_ports(config.udp_ports)
    except PortRangeError as error:
        raise SystemExit(f"consulta media: {error}") from None
    service = MediaService(config, clock)
    handlers = media_handlers(service, ["/media/healthz", "/healthz"])
    app = Litestar(route_handlers=handlers, on_shutdown=[service.shutdown])
    app.state.media = service
    return app


def attach_media(app: Litestar, config: MediaConfig, clock: Callable[[], float] = time.time) -> MediaService:
    """The media service inside the web process (`consulta dev`, browser tests), on the same origin."""
    service = MediaService(config, clock)
    for handler in media_handlers(service, ["/media/healthz"]):  # the web app has its own /healthz
        app.register(handler)
    app.on_shutdown.append(service.shutdown)
    app.state.media = service
    app.state.media_config = config
    return service
