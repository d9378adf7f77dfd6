"""The notification pipeline as compose.yaml deploys it, one process each, for the benchmark.

`consulta project --only notifications`, `consulta scheduler` and `consulta worker`
(as many as asked) run as their own processes against the bench's database,
Redis namespace and SMTP server; the baseline's no-op workers
(bench/noop_worker.py) run with the same number of processes and threads.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

HERE = Path(__file__).resolve().parent


class Fleet:
    def __init__(self, database_url: str, redis_url: str, namespace: str, smtp_port: int) -> None:
        self.redis_url, self.namespace = redis_url, namespace
        self.folder = Path(tempfile.mkdtemp(prefix="consulta-bench-fleet-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CONSULTA_ENV": "production",
            "CONSULTA_SECRET_KEY": "bench-secret",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_STARTTLS": "false",
            "SMTP_FROM": "Consulta <no-reply@localhost>",
            "LOG_LEVEL": "WARNING",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.heartbeats: list[Path] = []

    def consulta(self, name: str, *args: str) -> Path:
        """Start `consulta <args>`; returns its heartbeat file (it exists once the process runs)."""
        heartbeat = self.folder / f"{name}.alive"
        argv = [sys.executable, "-m", "consulta", *args, "--heartbeat", str(heartbeat)]
        self.processes.append(subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL))
        self.heartbeats.append(heartbeat)
        return heartbeat

    def workers(self, count: int, threads: int) -> list[Path]:
        return [
            self.consulta(f"worker-{i}", "worker", "--threads", str(threads), "--namespace", self.namespace)
            for i in range(count)
        ]

    def scheduler(self) -> Path:
        return self.consulta("scheduler", "scheduler", "--namespace", self.namespace)

    def projection(self) -> Path:
        return self.consulta("projection", "project", "--only", "notifications")

    def wait_ready(self, heartbeats: list[Path], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(h.exists() for h in heartbeats):
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError("a Consulta process of the bench stopped")
            if time.monotonic() > deadline:
                raise TimeoutError("the Consulta processes did not start")
            time.sleep(0.05)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def noop_rate(redis_url: str, namespace: str, count: int, processes: int, threads: int) -> float:
    """Messages per second that `processes` dramatiq workers handle for a no-op actor sent `count` times."""
    from dramatiq.brokers.redis import RedisBroker
    from noop_worker import QUEUE, declare

    workers = [
        subprocess.Popen(
            [sys.executable, str(HERE / "noop_worker.py"), redis_url, namespace, str(threads)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        actor = declare(RedisBroker(url=redis_url, namespace=namespace))
        started = time.time()
        for i in range(count):
            actor.send(str(i))
        client = redis.Redis.from_url(redis_url)
        pending = f"{namespace}:{QUEUE}.msgs"  # a message leaves this hash when its worker acks it
        while client.hlen(pending) or client.llen(f"{namespace}:{QUEUE}"):
            time.sleep(0.01)
        done, last = 0, 0.0
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            assert worker.stdout is not None
            seen, at = worker.stdout.readline().split()
            done, last = done + int(seen), max(last, float(at))
            worker.wait(timeout=20)
        if done != count:
            raise RuntimeError(f"the no-op workers saw {done} messages of {count}")
        return count / (last - started)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def _ticks(pid: int, children: bool) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    # utime, stime (and cutime, cstime: children that have exited) are fields 14-17; [0] here is field 3
    return int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)


def _pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_seconds(fleet: Fleet, inbox_pid: int) -> dict[str, float]:
    """CPU time used so far by each part: Consulta's processes, PostgreSQL, Redis, the SMTP server.

    PostgreSQL and Redis serve the whole machine: their share includes anything else running."""
    tick = os.sysconf("SC_CLK_TCK")
    names = ("workers", "scheduler", "projection")
    parts: dict[str, float] = dict.fromkeys(names, 0.0)
    for process, heartbeat in zip(fleet.processes, fleet.heartbeats, strict=True):
        part = next(n for n in names if heartbeat.name.startswith(n.rstrip("s")))
        parts[part] += _ticks(process.pid, False) / tick
    parts["postgresql"] = sum(_ticks(p, True) for p in _pids_named("postgres")) / tick
    parts["redis"] = sum(_ticks(p, False) for p in _pids_named("redis-server")) / tick
    parts["smtp server"] = _ticks(inbox_pid, False) / tick
    parts["bench (its inbox reader)"] = _ticks(os.getpid(), False) / tick
    return parts
