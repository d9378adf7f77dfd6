"""A real coturn process started as compose.yaml starts it, and a TURN client (aioice's) to probe it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aioice import stun
from aioice.turn import TurnClientUdpProtocol

from tests.ops.conftest import ROOT

IN_CI = os.environ.get("CI") == "true"


@dataclass
class Turn:
    host: str
    port: int
    relay_ports: tuple[int, int]
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def turnserver_or_skip() -> str:
    found = shutil.which("turnserver")
    if found is None:
        reason = "coturn's turnserver is not installed (apt-get install coturn; .ci/run does it)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def coturn_command(service: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """compose.yaml's coturn entrypoint, command and environment, as Compose would run them: `$$` is a
    literal `$` there, and the mounted config path is mapped back to the repository's file."""
    argv = [part.replace("$$", "$") for part in (*service["entrypoint"], *service["command"])]
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        argv = [part.replace(target, str(ROOT / source)) for part in argv]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({k: str(v) for k, v in service.get("environment", {}).items()})
    return argv, env


def free_ports(count: int) -> tuple[int, int]:
    """`count` consecutive ports free for UDP and TCP now, below the kernel's ephemeral range (32768+),
    where client connections (to PostgreSQL, Redis) would otherwise collide with turnserver's binds."""
    for first in range(20000 + (os.getpid() % 500) * 20, 32000, count):
        sockets = []
        try:
            for port in range(first, first + count):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    sock = socket.socket(socket.AF_INET, kind)
                    sockets.append(sock)
                    sock.bind(("127.0.0.1", port))
            return first, first + count - 1
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range")


def answers_stun(host: str, port: int) -> bool:
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.3)
        sock.sendto(bytes(request), (host, port))
        try:
            data, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return stun.parse_message(data).transaction_id == request.transaction_id


def start_turn(
    command: tuple[list[str], dict[str, str]],
    port: int,
    relay: tuple[int, int],
    workdir: Path,
    *extra: str,
    host: str = "127.0.0.1",
) -> Turn:
    """Run turnserver on `host`, `port` and `relay` instead of the file's ports (options override it)."""
    argv, env = command
    log = workdir / "turnserver.log"
    local = [
        f"--listening-ip={host}",
        f"--listening-port={port}",
        f"--min-port={relay[0]}",
        f"--max-port={relay[1]}",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--userdb={workdir / 'turndb'}",
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*argv, *local],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    turn = Turn(host, port, relay, process, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        if answers_stun(turn.host, port):
            return turn
        time.sleep(0.1)
    stop_turn(turn)
    pytest.fail(f"turnserver did not answer on {port}\n{turn.output()}")


def stop_turn(turn: Turn) -> None:
    if turn.process.poll() is None:
        turn.process.send_signal(signal.SIGTERM)
        try:
            turn.process.wait(10)
        except subprocess.TimeoutExpired:
            turn.process.kill()
            turn.process.wait(5)


async def turn_client(turn: Turn, username: str, password: str) -> TurnClientUdpProtocol:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(
            (turn.host, turn.port),
            username=username,
            password=password,
            lifetime=600,
            channel_refresh_time=500,
        ),
        remote_addr=(turn.host, turn.port),
    )
    return protocol


async def create_permission(client: TurnClientUdpProtocol, address: str) -> None:
    """RFC 8656 CreatePermission for `address`; raises stun.TransactionFailed (403 for a denied peer)."""
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = (address, 9)
    await client.request_with_retry(request)


def error_of(failure: stun.TransactionFailed) -> tuple[int, str]:
    code, reason = failure.response.attributes["ERROR-CODE"]
    return int(code), str(reason)
