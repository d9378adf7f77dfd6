"""Booking over HTTP: `POST /api/v1/appointments` with 32 concurrent clients.

The server is `consulta serve` (uvicorn, one process) with `consulta project`
beside it, on a fresh database; rate limits are raised through their settings.
Each client has its own patient account and bearer token and books free
slots (each answer waits for the read models, as the API does). Baseline,
same run and same clients: `GET /healthz` of the same server. Runs alternate.

    .venv/bin/python bench/http_booking.py [--seconds 5] [--repeats 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
from common import (
    MOTIF,
    add_patient,
    add_practitioners,
    bench_settings,
    fresh_database,
    machine,
    slot_plan,
    spread,
    utcnow,
)
from serving import consulta_processes, load

from consulta.application import Consulta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    n = args.concurrency
    with fresh_database() as url:
        setup = Consulta(env=bench_settings(url, pool_size=2).eventsourcing_env())
        now = utcnow()
        practitioners = add_practitioners(setup, 8, now)
        emails = []
        for _ in range(n):
            actor, _ = add_patient(setup, now)
            emails.append(setup.get_account(actor.account_id).email)
        # Client i books practitioner i % 8 on its own days: no two clients want one slot.
        groups = (n + 7) // 8
        plans: list[Iterator[tuple[Any, Any]]] = [
            iter(slot_plan(setup, [practitioners[i % 8]], now, days=100, part=(i // 8, groups)))
            for i in range(n)
        ]
        setup.close()
        ratios: dict[str, list[float]] = {}
        with consulta_processes(url) as base:
            tokens = []
            for email in emails:
                answer = httpx.post(
                    f"{base}/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
                )
                answer.raise_for_status()
                tokens.append(answer.json()["token"])

            async def healthz(client: httpx.AsyncClient, i: int) -> httpx.Response:
                return await client.get("/healthz")

            async def book(client: httpx.AsyncClient, i: int) -> httpx.Response:
                practitioner_id, starts_at = next(plans[i])
                body = {
                    "practitioner_id": str(practitioner_id),
                    "motif_id": MOTIF,
                    "starts_at": starts_at.isoformat(),
                    "mode": "practice",
                }
                return await client.post(
                    "/api/v1/appointments", json=body, headers={"Authorization": f"Bearer {tokens[i]}"}
                )

            asyncio.run(load(base, n, 1.0, healthz))  # warm up both paths
            asyncio.run(load(base, n, 1.0, book))
            for repeat in range(args.repeats):
                base_run = asyncio.run(load(base, n, args.seconds, healthz))
                run = asyncio.run(load(base, n, args.seconds, book))
                for key in ("rate", "p50_ms", "p99_ms"):
                    ratios.setdefault(key, []).append(run[key] / base_run[key])
                ratios.setdefault("book_rate", []).append(run["rate"])
                ratios.setdefault("book_p50", []).append(run["p50_ms"])
                ratios.setdefault("book_p99", []).append(run["p99_ms"])
                print(
                    f"[{repeat + 1}] GET /healthz: {base_run['rate']:.0f} req/s, p50 {base_run['p50_ms']:.1f} ms, "
                    f"p99 {base_run['p99_ms']:.1f} ms {base_run['statuses']}"
                )
                print(
                    f"[{repeat + 1}] POST /api/v1/appointments: {run['rate']:.0f} req/s, p50 {run['p50_ms']:.1f} ms, "
                    f"p99 {run['p99_ms']:.1f} ms {run['statuses']}; requests/s ratio to /healthz "
                    f"{run['rate'] / base_run['rate']:.3f}"
                )
    print()
    print(f"booking requests/s with {n} clients: {spread(ratios['book_rate'])}")
    print(f"booking p50 ms: {spread(ratios['book_p50'])}; p99 ms: {spread(ratios['book_p99'])}")
    print(f"booking/healthz requests/s ratio: {spread(ratios['rate'])}")
    print(f"booking/healthz p50 latency ratio: {spread(ratios['p50_ms'])}; p99: {spread(ratios['p99_ms'])}")


if __name__ == "__main__":
    main()
