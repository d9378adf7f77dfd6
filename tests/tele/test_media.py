"""Two aiortc participants through the real media service: video, audio and chat both ways; intruders refused."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets

from consulta.media.config import MediaConfig
from consulta.media.tokens import issue_token
from tests.tele.conftest import ORIGIN, MediaServer
from tests.tele.media_client import NumberedVideo, Participant


def token(
    media: MediaServer, room: str, participant: str, role: str, ttl: float = 30, key: bytes | None = None
) -> str:
    return issue_token(key or media.config.key, room, participant, role, time.time(), ttl)


async def until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()


async def refusal(media: MediaServer, raw_token: str) -> str:
    intruder = Participant(media.url, ORIGIN)
    try:
        await intruder.join(raw_token)
    except RuntimeError as error:
        return str(error)
    finally:
        await intruder.close()
    return "admitted"


def health(media: MediaServer) -> dict:
    return httpx.get(media.health_url).json()


async def test_two_participants_see_and_hear_each_other_and_chat(media: MediaServer) -> None:
    room = str(uuid.uuid4())
    patient, doctor = Participant(media.url, ORIGIN), Participant(media.url, ORIGIN)
    patient.latency_source, doctor.latency_source = doctor.video, patient.video
    try:
        assert (await patient.join(token(media, room, "p-1", "patient")))["peer"] is False
        assert (await doctor.join(token(media, room, "d-1", "practitioner")))["peer"] is True
        assert health(media) == {"status": "ok", "rooms": 1, "peers": 2}
        assert await until(lambda: patient.frames >= 10 and doctor.frames >= 10)
        assert await until(lambda: patient.audio_frames >= 10 and doctor.audio_frames >= 10)
        # The frames carry the sender's numbers: each side sees the other's video, not its own or black.
        assert max(patient.numbers) > 5 and max(patient.numbers) <= doctor.video.sent
        assert max(doctor.numbers) > 5 and max(doctor.numbers) <= patient.video.sent
        assert await until(
            lambda: patient.channel.readyState == "open" and doctor.channel.readyState == "open"
        )
        await until(lambda: len(patient.events) >= 1)
        patient.say("Bonjour docteur")
        doctor.say("Bonjour, je vous entends")
        assert await until(lambda: doctor.chat and patient.chat)
        assert doctor.chat == [{"kind": "text", "text": "Bonjour docteur", "from": "patient"}]
        assert patient.chat == [{"kind": "text", "text": "Bonjour, je vous entends", "from": "practitioner"}]

        # A third participant, and tokens forged, expired or replayed: refused, the call goes on.
        used = token(media, room, "p-2", "patient")
        assert await refusal(media, used) == "room full"
        assert await refusal(media, used) == "token refused"  # replayed
        assert (
            await refusal(media, token(media, room, "x-1", "practitioner", key=b"forged")) == "token refused"
        )
        assert await refusal(media, token(media, room, "p-1", "patient", ttl=-1)) == "token refused"
        assert await refusal(media, token(media, room, "x-1", "selftest")) == "room full"
        before = patient.frames
        assert await until(lambda: patient.frames > before + 5)
        assert health(media)["peers"] == 2
    finally:
        await patient.close()
        await doctor.close()
    assert await until(lambda: health(media)["rooms"] == 0)


async def test_a_patient_who_reconnects_gets_the_call_back(media: MediaServer) -> None:
    room = str(uuid.uuid4())
    doctor, first = Participant(media.url, ORIGIN), Participant(media.url, ORIGIN)
    second = Participant(media.url, ORIGIN, NumberedVideo(first=30000))
    try:
        await doctor.join(token(media, room, "d-1", "practitioner"))
        await first.join(token(media, room, "p-1", "patient"))
        assert await until(lambda: doctor.frames >= 5)
        assert max(doctor.numbers) < 30000
        await second.join(token(media, room, "p-1", "patient"))  # a reload: the same participant again
        assert await until(lambda: second.frames >= 5 and max(doctor.numbers) >= 30000)
        assert health(media)["peers"] == 2
    finally:
        for participant in (doctor, first, second):
            await participant.close()


async def test_the_self_test_echoes_the_participant(media: MediaServer) -> None:
    alone = Participant(media.url, ORIGIN)
    try:
        await alone.join(token(media, f"selftest:{uuid.uuid4()}", "p-1", "selftest"))
        assert await until(lambda: alone.frames >= 5 and alone.audio_frames >= 5)
        assert max(alone.numbers) <= alone.video.sent  # its own numbers come back
        assert await until(lambda: alone.channel.readyState == "open")
        alone.say("test")
        assert await until(lambda: alone.chat == [{"kind": "text", "text": "test", "from": "selftest"}])
    finally:
        await alone.close()


async def test_wrong_origin_bad_offers_and_floods_are_refused_and_the_service_lives_on(
    media: MediaServer,
) -> None:
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(media.url, origin="https://evil.example")
    async with websockets.connect(media.url, origin=ORIGIN) as socket:
        await socket.send(
            json.dumps({"type": "hello", "token": token(media, str(uuid.uuid4()), "p", "patient")})
        )
        assert json.loads(await socket.recv())["type"] == "ready"
        await socket.send(json.dumps({"type": "offer", "sdp": "v=0\r\nthis is not SDP\r\n"}))
        assert json.loads(await socket.recv()) == {"type": "error", "error": "bad offer"}
    async with websockets.connect(media.url, origin=ORIGIN) as socket:
        await socket.send(
            json.dumps({"type": "hello", "token": token(media, str(uuid.uuid4()), "p", "patient")})
        )
        await socket.recv()
        broken = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video x UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96\r\n"
        await socket.send(json.dumps({"type": "offer", "sdp": broken}))
        assert json.loads(await socket.recv()) == {"type": "error", "error": "bad offer"}
    async with websockets.connect(media.url, origin=ORIGIN) as socket:
        await socket.send(
            json.dumps({"type": "hello", "token": token(media, str(uuid.uuid4()), "p", "patient")})
        )
        await socket.recv()
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(100):
                await socket.send(json.dumps({"type": "noise"}))
                await asyncio.sleep(0)
            await socket.recv()
            await socket.recv()
    async with websockets.connect(media.url, origin=ORIGIN) as socket:
        await socket.send("{not json")
        assert json.loads(await socket.recv())["error"] == "unexpected message"
    assert await until(lambda: health(media) == {"status": "ok", "rooms": 0, "peers": 0})


async def test_shutdown_closes_every_peer_and_socket() -> None:
    from tests.tele.conftest import serve_media

    running, server, thread = serve_media(MediaConfig(key=b"shutdown-key", allowed_origins=(ORIGIN,)))
    room = str(uuid.uuid4())
    patient, doctor = Participant(running.url, ORIGIN), Participant(running.url, ORIGIN)
    try:
        await patient.join(token(running, room, "p-1", "patient"))
        await doctor.join(token(running, room, "d-1", "practitioner"))
        assert await until(lambda: patient.frames >= 3 and doctor.frames >= 3)
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        assert not thread.is_alive()
        assert await until(
            lambda: patient.socket.state.name == "CLOSED" and doctor.socket.state.name == "CLOSED"
        )
        service = running.app.state.media  # type: ignore[attr-defined]
        assert service.stats() == {"rooms": 0, "peers": 0}
    finally:
        await patient.close()
        await doctor.close()
