"""Simultaneous 1:1 video consultations through the media service, against the same clients connected directly.

    .venv/bin/python bench/media.py [--consultations 1,2,4] [--seconds 15] [--warmup 5]

For each count N, two runs back to back, in the same process of clients:
- relayed: N pairs of aiortc participants (640x360, 15 frames/s, numbered
  frames, silence) through `consulta media`, started here as its own process;
- direct: the same N pairs, each pair's two peers connected to each other.
Reported: the media service's CPU (its process, /proc) per consultation in % of
one core; video frames delivered / sent in the measured window; the latency
from a frame's capture to its decoding at the other participant, p50 and p99,
relayed and direct (the difference is what the service adds). The clients
(VP8 encode and decode on both sides) run on the same 2 shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from consulta.media.tokens import issue_token, media_key  # noqa: E402
from tests.tele.media_client import NumberedVideo, Participant  # noqa: E402

ORIGIN = "http://127.0.0.1:8000"
SECRET = "bench-media-secret"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def relayed_pairs(url: str, n: int) -> list[tuple[Participant, Participant]]:
    key = media_key(SECRET)
    pairs = []
    for _ in range(n):
        room = str(uuid.uuid4())
        a = Participant(url, ORIGIN, NumberedVideo(640, 360, 15))
        b = Participant(url, ORIGIN, NumberedVideo(640, 360, 15))
        a.latency_source, b.latency_source = b.video, a.video
        await a.join(issue_token(key, room, "a", "patient", time.time()))
        await b.join(issue_token(key, room, "b", "practitioner", time.time()))
        pairs.append((a, b))
    return pairs


async def direct_pairs(n: int) -> list[tuple[Participant, Participant]]:
    """The same participants, offer and answer exchanged in-process: no media service in between."""
    pairs = []
    for _ in range(n):
        a = Participant("", ORIGIN, NumberedVideo(640, 360, 15))
        b = Participant("", ORIGIN, NumberedVideo(640, 360, 15))
        a.latency_source, b.latency_source = b.video, a.video
        await a.pc.setLocalDescription(await a.pc.createOffer())
        await b.pc.setRemoteDescription(a.pc.localDescription)
        await b.pc.setLocalDescription(await b.pc.createAnswer())
        await a.pc.setRemoteDescription(b.pc.localDescription)
        pairs.append((a, b))
    return pairs


async def measure(
    pairs: list[tuple[Participant, Participant]], warmup: float, seconds: float, pid: int | None
) -> dict[str, float]:
    people = [p for pair in pairs for p in pair]
    await asyncio.sleep(warmup)
    sent0 = sum(p.video.sent for p in people)
    got0 = sum(p.frames for p in people)
    lat0 = [len(p.latencies) for p in people]
    cpu0, t0, own0 = (cpu_seconds(pid) if pid else 0.0), time.monotonic(), cpu_seconds(os.getpid())
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - t0
    cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0
    clients_cpu = cpu_seconds(os.getpid()) - own0
    sent = sum(p.video.sent for p in people) - sent0
    got = sum(p.frames for p in people) - got0
    latencies = [x for p, start in zip(people, lat0, strict=False) for x in p.latencies[start:]]
    for person in people:
        await person.close()
    return {
        "delivered": got / sent if sent else 0.0,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "cpu_per_consultation": 100 * cpu / elapsed / len(pairs),
        "clients_cpu": 100 * clients_cpu / elapsed,
        "sent_fps": sent / elapsed / len(people),
    }


def start_service(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CONSULTA_SECRET_KEY": SECRET,
        "CONSULTA_BASE_URL": ORIGIN,
        "CONSULTA_ENV": "production",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "consulta", "media", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the media service did not start")


async def run(counts: list[int], warmup: float, seconds: float, port: int) -> list[dict[str, float]]:
    service = start_service(port)
    rows = []
    try:
        url = f"ws://127.0.0.1:{port}/media/ws"
        for n in counts:
            relayed = await measure(await relayed_pairs(url, n), warmup, seconds, service.pid)
            await asyncio.sleep(2)  # the service closes the peers
            health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
            direct = await measure(await direct_pairs(n), warmup, seconds, None)
            row = {"consultations": n, **{f"relayed_{k}": v for k, v in relayed.items()},
                   **{f"direct_{k}": v for k, v in direct.items() if k != "cpu_per_consultation"},
                   "peers_left": health["peers"]}  # fmt: skip
            rows.append(row)
            print(
                f"N={n}: service CPU {relayed['cpu_per_consultation']:.0f}% of a core per consultation; "
                f"delivered relayed {relayed['delivered']:.2f} direct {direct['delivered']:.2f}; "
                f"latency p50 {relayed['p50_ms']:.0f} ms vs {direct['p50_ms']:.0f} ms direct, "
                f"p99 {relayed['p99_ms']:.0f} ms vs {direct['p99_ms']:.0f} ms; "
                f"sent {relayed['sent_fps']:.1f}/{direct['sent_fps']:.1f} fps per participant; "
                f"clients' process {relayed['clients_cpu']:.0f}%/{direct['clients_cpu']:.0f}% of a core",
                flush=True,
            )
    finally:
        service.terminate()
        service.wait(timeout=10)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consultations", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--port", type=int, default=18444)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON at the end")
    args = parser.parse_args()
    counts = [int(c) for c in args.consultations.split(",")]
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)", flush=True)
    rows = asyncio.run(run(counts, args.warmup, args.seconds, args.port))
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
