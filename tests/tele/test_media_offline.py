"""Offline by default: no public STUN server, neither in what browsers get nor in the media service's aiortc."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer
from litestar.datastructures import State

from consulta.http.tele_media import media_config_of
from consulta.media.config import MediaConfig
from consulta.media.server import MediaService
from consulta.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MEDIA_VARIABLES = (
    "MEDIA_STUN_URLS",
    "MEDIA_TURN_URLS",
    "MEDIA_TURN_SECRET",
    "MEDIA_RELAY_ONLY",
    "MEDIA_UDP_PORTS",
)


@pytest.fixture
def default_config(monkeypatch: pytest.MonkeyPatch) -> MediaConfig:
    """What the web app builds from settings when no media variable is set (the process's own environment)."""
    for name in MEDIA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(database_url="postgresql://unused", secret_key="offline-test")
    return media_config_of(type("App", (), {"state": State({"settings": settings})})())


def test_browsers_get_no_ice_server_at_all(default_config: MediaConfig) -> None:
    assert default_config.ice_servers("participant-1", 1_000_000) == []


def test_the_media_service_gives_aiortc_an_empty_list_not_none(default_config: MediaConfig) -> None:
    # None would mean aiortc's default, a public STUN server.
    assert RTCIceGatherer.getDefaultIceServers()[0].urls == "stun:stun.l.google.com:19302"
    configuration = MediaService(default_config).rtc_configuration()
    assert configuration.iceServers == []


def test_an_aiortc_peer_of_the_media_service_gathers_host_candidates_only(
    default_config: MediaConfig,
) -> None:
    async def scenario() -> tuple[list[Any], list[str]]:
        service = MediaService(default_config)
        pc = RTCPeerConnection(service.rtc_configuration())
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        connection = pc.getTransceivers()[0].sender.transport.transport.iceGatherer._connection
        servers = [connection.stun_server, connection.turn_server]
        lines = [line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate:")]
        await pc.close()
        await service.shutdown()
        return servers, lines

    servers, candidates = asyncio.run(scenario())
    assert servers == [None, None]
    assert candidates and all(line.split()[7] == "host" for line in candidates)


def test_no_public_stun_server_is_written_anywhere_in_the_code_or_pages() -> None:
    public = re.compile(r"stun[0-9]?\.l\.google\.com|stun\.(services\.mozilla|twilio|cloudflare)\.com", re.I)
    folders = ("src", "http", "media", "workers", "projections", "aggregates")
    files = [p for f in folders for p in (ROOT / f).rglob("*") if p.suffix in (".py", ".js", ".j2", ".html")]
    assert files
    assert [str(p) for p in files if public.search(p.read_text(errors="replace"))] == []
