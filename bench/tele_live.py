"""Teleconsultation dashboard streams: how long a change takes to reach N open dashboards.

One web process (uvicorn, in this process, projections in threads) on a fresh
database; one practitioner with N dashboard streams open (`/pro/tele/events`,
one session). Each round opens a consultation (POST /pro/tele/open, which
returns once the waiting room shows it) and times, for every stream, the
arrival of a `rows` event naming it, from the moment the POST is sent.

    .venv/bin/python bench/tele_live.py [--streams 1 50 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx
from common import bench_settings, fresh_database, machine, percentile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' helpers

from consulta.services import Services
from tests.tele.live_server import EVENT_STREAM, practitioner_session, serve_web
from tests.tele.test_pages import known_patient


async def stream(
    client: httpx.AsyncClient, ready: asyncio.Event, seen: dict[str, float], opened: list[int]
) -> None:
    """Notes when each number of rows first arrives (one more row per consultation opened)."""
    async with client.stream("GET", "/pro/tele/events", headers=EVENT_STREAM, timeout=None) as answer:
        ready.set()
        rows = 0
        async for line in answer.aiter_lines():
            if line.startswith("data:"):
                rows += line.count("data-consultation=")
            elif line == "":
                if rows > opened[0] and str(rows) not in seen:
                    seen[str(rows)] = time.perf_counter()
                rows = 0


async def measure(origin: str, cookies: httpx.Cookies, streams: int, rounds: int, open_one) -> list[float]:  # type: ignore[no-untyped-def]
    limits = httpx.Limits(max_connections=streams + 5)
    async with httpx.AsyncClient(base_url=origin, cookies=cookies, limits=limits) as client:
        readies = [asyncio.Event() for _ in range(streams)]
        seens: list[dict[str, float]] = [{} for _ in range(streams)]
        opened = [0]
        tasks = [
            asyncio.create_task(stream(client, r, s, opened)) for r, s in zip(readies, seens, strict=True)
        ]
        await asyncio.gather(*(r.wait() for r in readies))
        await asyncio.sleep(1)
        delays = []
        for _ in range(rounds):
            start = time.perf_counter()
            opened[0] = await asyncio.to_thread(open_one)
            key = str(opened[0] + 1)
            deadline = start + 10
            while any(key not in s for s in seens) and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            delays += [(s[key] - start) * 1000 for s in seens if key in s]
            opened[0] += 1
            await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    with fresh_database("consulta_bench_tele") as url:
        settings = bench_settings(url, pool_size=8)
        with Services.start(settings) as services:
            services.run_projections(
                ["waiting_room", "profiles", "agenda", "accounts", "practitioner_directory"]
            )
            _, profile_id, email = known_patient(services, services.clock.now(), "Bench", "Live")
            with serve_web(settings, services, 30) as origin:
                pro = practitioner_session(origin, email)
                count = [0]

                def open_one() -> int:
                    before = count[0]
                    answer = pro.post(
                        "/pro/tele/open",
                        data={"profile_id": str(profile_id), "_csrf_token": pro.cookies["csrftoken"]},
                    )
                    assert answer.status_code == 200, answer.status_code
                    count[0] += 1
                    return before

                for n in args.streams:
                    delays = asyncio.run(measure(origin, pro.cookies, n, args.rounds, open_one))
                    print(
                        f"{n:4d} streams: {len(delays)} deliveries, p50 {percentile(delays, 50):.1f} ms,"
                        f" p95 {percentile(delays, 95):.1f} ms, max {max(delays):.1f} ms"
                    )
                pro.close()


if __name__ == "__main__":
    main()
