"""A real media service (uvicorn, its own thread and event loop) for the teleconsultation tests."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from consulta.media.config import MediaConfig
from consulta.media.server import create_media_app

ORIGIN = "http://127.0.0.1:8000"


@dataclass
class MediaServer:
    url: str
    health_url: str
    config: MediaConfig
    app: object


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_media(config: MediaConfig) -> tuple[MediaServer, uvicorn.Server, threading.Thread]:
    app = create_media_app(config)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=64 * 1024, lifespan="on"
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True, name="media")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the media service did not start"
    return (
        MediaServer(f"ws://127.0.0.1:{port}/media/ws", f"http://127.0.0.1:{port}/healthz", config, app),
        server,
        thread,
    )


@pytest.fixture(scope="module")
def media() -> Iterator[MediaServer]:
    config = MediaConfig(key=b"media-test-key", allowed_origins=(ORIGIN,))
    running, server, thread = serve_media(config)
    yield running
    server.should_exit = True
    thread.join(timeout=10)
