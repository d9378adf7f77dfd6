"""Agenda pages: requests/s against a bare Litestar page of the same size.

Consulta runs as `consulta serve` + `consulta project` on a fresh database
holding one practitioner with a realistic week (hours, three motifs, some
bookings). Pages measured:
- `/practitioners/{id}`: the practitioner's public page, next free slots per motif;
- `/pro/agenda/week`: the practitioner's own week view (logged in);
- `/pro/agenda?day=`: the practitioner's day view (a Monday of that week).
Baseline, same run: each page's HTML saved to a file, served by a bare
Litestar app (bench/bare_page.py, uvicorn, one process) through a Jinja loop:
same bytes, no database, session or CSRF work. Runs alternate.

    .venv/bin/python bench/pages.py [--seconds 4] [--repeats 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import ROOT, add_patient, bench_settings, fresh_database, machine, median, spread, utcnow
from serving import consulta_processes, free_port, load

from consulta.application import Actor, Consulta

HOURS = [
    {"weekday": d, "start": start, "end": end, "place": place}
    for d in range(5)
    for start, end, place in (
        ("09:00", "12:00", "practice"),
        ("14:00", "17:00", "practice"),
        ("17:00", "18:00", "video"),
    )
] + [{"weekday": 5, "start": "09:00", "end": "12:00", "place": "practice"}]
MOTIFS = [
    {"id": "consult", "name": "Consultation", "duration_minutes": 20, "modes": ["practice", "video"]},
    {"id": "long", "name": "Long consultation", "duration_minutes": 40, "modes": ["practice"]},
    {"id": "first", "name": "First visit", "duration_minutes": 30, "modes": ["practice"]},
]
EMAIL, PASSWORD = "bench-dr-pages@example.org", "correct horse battery"


def practitioner_with_a_week(app: Consulta, bookings: int) -> tuple[Any, str]:
    now = utcnow()
    outcome = app.add_practitioner(
        EMAIL, PASSWORD, "Dr Claire Bench", "General practitioner", "Lyon", now, "1 rue de la Paix"
    )
    practitioner = app.get_practitioner(outcome.id)
    staff = Actor(practitioner.account_id, "practitioner", outcome.id)
    app.configure_agenda(staff, outcome.id, hours=HOURS, motifs=MOTIFS, policy={"min_notice_minutes": 0})
    # Staff log in with an authenticator app: enable one with the code of the step before this one.
    import pyotp

    from consulta.identity import TOTP_STEP, totp_step

    secret = app.new_totp_secret()
    app.enable_totp(
        practitioner.account_id, secret, pyotp.TOTP(secret).at((totp_step(now) - 1) * TOTP_STEP), now
    )
    rules = app.get_practitioner(outcome.id).rules
    patient, profile_id = add_patient(app, now)
    slots = [
        s for d in range(1, 15) for s in rules.slots_on(rules.local_day(now) + timedelta(days=d), "consult")
    ]
    for slot in slots[:: max(1, len(slots) // max(1, bookings))][:bookings]:
        app.book(patient, outcome.id, "consult", slot.mode, slot.starts_at, profile_id, now)
    return outcome.id, secret


def caught_up(url: str, app: Consulta, timeout: float = 60) -> None:
    last = app.recorder.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT min(position) FROM read.projection_positions").fetchone()
            if row and row[0] is not None and row[0] >= last:
                return
            time.sleep(0.2)
    raise RuntimeError("projections did not catch up")


def cookies_of(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def login_cookie(base: str, totp_secret: str) -> str:
    """Log the practitioner in through the pages (password, then the authenticator code): the Cookie header."""
    import pyotp

    from consulta.identity import TOTP_STEP, totp_step

    cookies: dict[str, str] = {}

    def header() -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

    def post(client: httpx.Client, path: str, form_path: str, data: dict[str, str]) -> httpx.Response:
        form = client.get(form_path, headers=header())
        cookies.update(cookies_of(form))
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
        assert token, f"no CSRF field on {form_path}"
        done = client.post(path, data={**data, "_csrf_token": token.group(1)}, headers=header())
        assert done.status_code in (302, 303), f"{path} answered {done.status_code}"
        cookies.update(cookies_of(done))
        return done

    with httpx.Client(base_url=base, follow_redirects=False) as client:
        first = post(client, "/login", "/login", {"email": EMAIL, "password": PASSWORD})
        code = pyotp.TOTP(totp_secret).at(totp_step(utcnow()) * TOTP_STEP)  # enabled with the step before
        post(client, "/login/code", first.headers["location"], {"code": code})
    return header()["Cookie"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--bookings", type=int, default=120, help="booked slots in the next two weeks (of about 230)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    n = args.concurrency
    ratios: dict[str, list[float]] = {}
    with fresh_database() as url, tempfile.TemporaryDirectory() as pages_dir:
        app = Consulta(env=bench_settings(url, pool_size=2).eventsourcing_env())
        practitioner_id, totp_secret = practitioner_with_a_week(app, args.bookings)
        with consulta_processes(url) as base:
            caught_up(url, app)
            cookie = login_cookie(base, totp_secret)
            monday = date.today() - timedelta(days=date.today().weekday()) + timedelta(days=7)
            pages = {
                "practitioner": (f"/practitioners/{practitioner_id}", {}),
                "pro_week": (f"/pro/agenda/week?start={monday.isoformat()}", {"Cookie": cookie}),
                "pro_day": (f"/pro/agenda?day={monday.isoformat()}", {"Cookie": cookie}),
                # Not a page: both apps' /healthz, the cost of a request through each app alone.
                "healthz": ("/healthz", {}),
            }
            for name, (path, headers) in pages.items():
                if name == "healthz":
                    continue
                answer = httpx.get(base + path, headers=headers)
                assert answer.status_code == 200, f"{path} answered {answer.status_code}"
                Path(pages_dir, f"{name}.html").write_text(answer.text)
                print(f"{path}: {len(answer.content):,} bytes of HTML")
            port = free_port()
            bare = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/uvicorn"),
                    "bare_page:app",
                    "--app-dir",
                    str(ROOT / "bench"),
                    "--port",
                    str(port),
                    "--log-level",
                    "info",
                    "--proxy-headers",
                ],  # as `consulta serve`
                env={**os.environ, "BARE_PAGES_DIR": pages_dir},
                stdout=subprocess.DEVNULL,  # access log, as for `consulta serve`
            )
            try:
                bare_base = f"http://127.0.0.1:{port}"
                for _ in range(100):
                    try:
                        httpx.get(f"{bare_base}/healthz")
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                for name, (path, headers) in pages.items():
                    bare_path = "/healthz" if name == "healthz" else f"/bare/{name}"
                    same = httpx.get(f"{bare_base}{bare_path}").content
                    print(f"{bare_path}: {len(same):,} bytes")

                    def request(p: str, h: dict[str, str]) -> Any:
                        async def send(client: httpx.AsyncClient, i: int) -> httpx.Response:
                            return await client.get(p, headers=h)

                        return send

                    asyncio.run(load(base, n, 1.0, request(path, headers)))  # warm up
                    asyncio.run(load(bare_base, n, 1.0, request(bare_path, {})))
                    for repeat in range(args.repeats):
                        bare_run = asyncio.run(load(bare_base, n, args.seconds, request(bare_path, {})))
                        real = asyncio.run(load(base, n, args.seconds, request(path, headers)))
                        ratio = real["rate"] / bare_run["rate"]
                        ratios.setdefault(name, []).append(ratio)
                        print(
                            f"[{repeat + 1}] {name}: bare {bare_run['rate']:.0f} req/s (p50 {bare_run['p50_ms']:.1f} ms)"
                            f" {bare_run['statuses']}; Consulta {real['rate']:.0f} req/s (p50 {real['p50_ms']:.1f} ms,"
                            f" p99 {real['p99_ms']:.1f} ms) {real['statuses']}; ratio {ratio:.3f}"
                        )
            finally:
                bare.terminate()
                bare.wait(10)
        app.close()
    print()
    for name, values in ratios.items():
        if name == "healthz":
            print(f"Consulta /healthz / bare /healthz requests/s, {n} clients: {spread(values)} (no target)")
            continue
        verdict = "met" if median(values) >= 0.5 else "MISSED"
        print(f"{name} page / bare page requests/s, {n} clients: {spread(values)}; target >= 0.5x: {verdict}")


if __name__ == "__main__":
    main()
