"""The real `consulta dev` process for end-to-end browser tests, and what its pages give back.

`running_dev` starts `consulta dev --port N` as a new user would, on a fresh
database of the local PostgreSQL (quicker than the embedded server), and stops
it with Ctrl+C. `inbox` reads its /dev/inbox page; `log_in` goes through the
login pages (staff set up their authenticator app at their first login).
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pyotp

from tests.conftest import create_database, drop_database
from tests.ops.conftest import consulta_argv, free_port

T = TypeVar("T")
FR_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
_ARTICLE = re.compile(
    r'<article class="card">\s*<h2>(?P<subject>.*?)</h2>\s*<p><strong>[^<]*</strong> (?P<to>\S+) · (?P<channel>\w+) · '
    r'<time datetime="(?P<at>[^"]+)">.*?</time></p>\s*<pre class="wrap">(?P<body>.*?)</pre>',
    re.S,
)


@dataclass(frozen=True)
class Dev:
    origin: str
    database_url: str
    log: Path


@dataclass(frozen=True)
class Message:
    to: str
    channel: str
    subject: str
    body: str
    at: datetime


def wait_until(probe: Callable[[], T | None], seconds: float, what: str, every: float = 0.5) -> T:
    """Poll `probe` until it returns something truthy; fail saying `what` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:.0f} s for {what}")
        time.sleep(every)


@contextmanager
def running_dev(admin_url: str, workdir: Path) -> Iterator[Dev]:
    """`consulta dev --port N` on a database of its own (dropped afterwards); its output goes to dev.log."""
    database_url = create_database(admin_url, "consulta_dev_e2e")
    port, log = free_port(), workdir / "dev.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONSULTA_", "DATABASE_", "REDIS_", "SMTP_", "SMS_"))
    }
    env.update(DATABASE_URL=database_url, CONSULTA_SECRET_KEY="dev-e2e-" + os.urandom(8).hex())
    origin = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            consulta_argv(["consulta", "dev", "--port", str(port)]),
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:

        def healthy() -> bool:
            assert process.poll() is None, f"consulta dev exited:\n{log.read_text()}"
            try:
                return httpx.get(origin + "/healthz", timeout=3).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 120, "consulta dev to answer /healthz")
        yield Dev(origin, database_url, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        drop_database(admin_url, database_url)


def inbox(origin: str) -> list[Message]:
    """The messages /dev/inbox shows, newest first."""
    page = httpx.get(origin + "/dev/inbox", timeout=30)
    assert page.status_code == 200, page.status_code
    return [
        Message(
            html.unescape(m["to"]),
            m["channel"],
            html.unescape(m["subject"]),
            html.unescape(m["body"]),
            datetime.fromisoformat(m["at"]),
        )
        for m in _ARTICLE.finditer(page.text)
    ]


def fr_when(starts_at: datetime, zone: str = "Europe/Paris") -> str:
    """An appointment's time as the French messages write it: "lundi 30 novembre 2026 à 09:00"."""
    t = starts_at.astimezone(ZoneInfo(zone))
    weekday = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"][t.weekday()]
    day = "1er" if t.day == 1 else str(t.day)
    return f"{weekday} {day} {FR_MONTHS[t.month - 1]} {t.year} à {t:%H:%M}"


def log_in(page: Any, origin: str, email: str, password: str) -> str | None:
    """Log in through the pages; returns the authenticator key when the login set one up (staff's first)."""
    page.goto(origin + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    with page.expect_navigation():
        page.locator("main form[action='/login'] button[type=submit]").click()
    if "/login/second-factor" not in page.url:
        return None
    key = page.locator("#totp-key").input_value()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(key).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Continuer").click()
    assert "/login" not in page.url, page.content()
    return key
