"""The web app under uvicorn (streams need a real server: the test client buffers whole answers), and
HTTP sessions for both sides of a teleconsultation, plus a reader of Server-Sent Events in a thread."""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from consulta.services import Services
from consulta.settings import Settings
from tests.accounts.principals import totp_code
from tests.tele.conftest import free_port

EVENT_STREAM = {"accept": "text/event-stream"}


@contextmanager
def serve_web(
    settings: Settings, services: Services, presence_seconds: int, media: bool = False
) -> Iterator[str]:
    import uvicorn

    from consulta.http.app import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = create_app(settings, services)
    app.state.tele_presence_seconds = presence_seconds
    if media:
        from consulta.media.config import MediaConfig
        from consulta.media.server import attach_media

        attach_media(app, MediaConfig(key=b"live-test-media-key", allowed_origins=(origin,)),
                     lambda: services.clock.now().timestamp())  # fmt: skip
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="tele-live-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    try:
        yield origin
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post(client: httpx.Client, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    return client.post(url, data={**(data or {}), "_csrf_token": client.cookies["csrftoken"]})


def practitioner_session(origin: str, email: str) -> httpx.Client:
    """Logged in over HTTP: the password, then the authenticator code the first login sets up."""
    client = httpx.Client(base_url=origin, follow_redirects=False)
    client.get("/")
    assert post(client, "/login", {"email": email, "password": "correct horse battery"}).status_code == 303
    key = re.search(r'id="totp-key" readonly value="([A-Z2-7]+)"', client.get("/login/second-factor").text)
    if key:  # the first login shows the authenticator key; later ones ask for its code
        KEYS[email] = key.group(1)
    assert email in KEYS, "a second factor set up elsewhere"
    assert post(client, "/login/code", {"code": totp_code(KEYS[email])}).status_code == 303
    return client


KEYS: dict[str, str] = {}  # authenticator keys of the staff these helpers logged in


def open_now(pro: httpx.Client, profile_id: Any) -> str:
    """Opens a consultation now for a known patient (the ad-hoc page's form); its access code."""
    opened = post(pro, "/pro/tele/open", {"profile_id": str(profile_id)})
    found = re.search(r'id="access-code">([0-9A-Z-]+)<', opened.text)
    assert opened.status_code == 200 and found, opened.status_code
    return found.group(1)


def patient_in_waiting_room(origin: str, code: str, first: str, last: str) -> httpx.Client:
    client = httpx.Client(base_url=origin, follow_redirects=False)
    client.get("/")
    assert post(client, "/join/code", {"code": code}).headers["location"] == "/tele/identity"
    checked = post(
        client, "/tele/identity/check", {"first_name": first, "last_name": last, "birth_date": "1985-05-17"}
    )
    assert checked.headers["location"] == "/tele/consent"
    assert post(client, "/tele/consent/record", {"consent": "yes"}).headers["location"] == "/tele/waiting"
    assert client.get("/tele/waiting").status_code == 200
    return client


class EventReader:
    """Reads one stream in a thread: (event, data) pairs in a queue, then ("closed", status) at its end."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.status = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(client, url), daemon=True)
        self._thread.start()

    def _read(self, client: httpx.Client, url: str) -> None:
        try:
            with client.stream(
                "GET", url, headers=EVENT_STREAM, timeout=httpx.Timeout(30, read=30)
            ) as answer:
                self.status = answer.status_code
                name, data = "message", []
                for line in answer.iter_lines():
                    if self._stop.is_set():
                        break
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[6:] if line.startswith("data: ") else line[5:])
                    elif line == "" and data:
                        self.events.put((name, "\n".join(data)))
                        name, data = "message", []
                    elif line == "":
                        name = "message"
        except httpx.HTTPError as error:
            self.events.put(("error", type(error).__name__))
        self.events.put(("closed", str(self.status)))

    def until(self, wanted: str, predicate: Any = lambda data: True, seconds: float = 10) -> str:
        """The data of the first `wanted` event that satisfies `predicate`, or an AssertionError."""
        deadline, seen = time.monotonic() + seconds, []
        while time.monotonic() < deadline:
            try:
                name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(name)
            if name == wanted and predicate(data):
                return data
        raise AssertionError(f"no matching {wanted!r} event within {seconds} s; saw {seen}")

    def stop(self) -> None:
        self._stop.set()
