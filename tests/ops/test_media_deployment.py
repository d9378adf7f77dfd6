"""The media and coturn services of compose.yaml: ports, environment, commands; the media command run for real.

The media service's UDP range is kept by the kernel, not by aiortc: the test
runs compose's very command in a network namespace of its own (`unshare
--net`, as a container has) with compose's `sysctls`, and reads the ports of
the candidates it offers.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from consulta.media.config import parse_port_range
from consulta.media.ports import kernel_port_range
from consulta.media.tokens import issue_token, media_key
from tests.ops.conftest import ROOT, consulta_argv, free_port, load_compose, process_env, with_option
from tests.ops.test_compose_file import resolve
from tests.ops.test_processes import start, stop, wait_until
from tests.tele.media_client import Participant

SECRET = "media-deployment-test-secret"
CONF = ROOT / "deploy" / "turnserver.conf"
MUST_DENY = ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
             "192.168.0.0/16", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15",
             "240.0.0.0/4", "::1/128", "fc00::/7", "fe80::/10", "::ffff:0:0/96", "64:ff9b::/96")  # fmt: skip
MUST_ALLOW = ("1.2.3.4", "8.8.8.8", "2001:4860:4860::8888")


def turn_options() -> list[tuple[str, str]]:
    lines = [line.strip() for line in CONF.read_text().splitlines()]
    return [
        (k, v) for k, _, v in (line.partition("=") for line in lines if line and not line.startswith("#"))
    ]


def denied_ranges() -> list[tuple[Any, Any]]:
    found = []
    for name, value in turn_options():
        if name == "denied-peer-ip":
            low, _, high = value.partition("-")
            found.append((ipaddress.ip_address(low), ipaddress.ip_address(high or low)))
    return found


def covered(address: Any, ranges: list[tuple[Any, Any]]) -> bool:
    return any(low.version == address.version and low <= address <= high for low, high in ranges)


def test_media_publishes_the_udp_range_the_kernel_picks_from(compose: dict[str, Any]) -> None:
    media = compose["services"]["media"]
    first, last = parse_port_range(media["environment"]["MEDIA_UDP_PORTS"])
    assert media["sysctls"]["net.ipv4.ip_local_port_range"].split() == [str(first), str(last)]
    assert f"{first}-{last}:{first}-{last}/udp" in media["ports"]


def test_media_listens_where_the_proxy_and_its_health_check_expect(compose: dict[str, Any]) -> None:
    media = compose["services"]["media"]
    ctx = resolve(media["command"])
    assert ctx.command.name == "media"
    assert ctx.params["host"] == "0.0.0.0"
    assert f"127.0.0.1:{ctx.params['port']}:{ctx.params['port']}" in media["ports"]  # behind the proxy only
    assert f":{ctx.params['port']}/healthz" in media["healthcheck"]["test"][-1]


def test_media_shares_redis_and_the_token_key_with_the_web(compose: dict[str, Any]) -> None:
    media, web = compose["services"]["media"]["environment"], compose["services"]["web"]["environment"]
    for name in (
        "REDIS_URL",
        "CONSULTA_SECRET_KEY",
        "CONSULTA_BASE_URL",
        "MEDIA_TURN_URLS",
        "MEDIA_TURN_SECRET",
    ):
        assert media[name] == web[name], name
    assert media["MEDIA_RELAY_ONLY"] == "false"
    # Least privilege: nothing of PostgreSQL, SMTP or the SMS gateway in the media container.
    assert not [name for name in media if name.startswith(("DATABASE", "POSTGRES", "SMTP", "SMS"))]
    assert compose["services"]["media"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_coturn_runs_the_repository_config_with_the_secret_from_the_environment() -> None:
    compose = load_compose({"CONSULTA_SECRET_KEY": "x", "MEDIA_TURN_SECRET": "from-the-operator-0123"})
    coturn = compose["services"]["coturn"]
    assert coturn["network_mode"] == "host" and coturn["profiles"] == ["turn"]
    source, target, mode = coturn["volumes"][0].split(":")
    assert (ROOT / source).resolve() == CONF and mode == "ro"
    script = coturn["command"][0]
    assert f"-c {target}" in script and '--static-auth-secret="$$MEDIA_TURN_SECRET"' in script
    assert coturn["environment"]["MEDIA_TURN_SECRET"] == "from-the-operator-0123"
    assert "eval" not in script and coturn["entrypoint"] == ["/bin/sh", "-c"]


def test_turnserver_conf_takes_only_time_limited_credentials_and_relays_only_to_public_addresses() -> None:
    options = dict(turn_options())
    for flag in ("use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers", "no-tcp-relay"):
        assert flag in options, flag
    for forbidden in (
        "static-auth-secret",
        "user",
        "lt-cred-mech",
        "no-auth",
        "allow-loopback-peers",
        "cli-password",
    ):
        assert forbidden not in options, forbidden
    assert options["listening-port"] == "3478" and options["realm"]
    assert (options["min-port"], options["max-port"]) == ("49160", "49359")
    ranges = denied_ranges()
    for network in map(ipaddress.ip_network, MUST_DENY):
        assert covered(network[0], ranges) and covered(network[-1], ranges), network
    for address in map(ipaddress.ip_address, MUST_ALLOW):
        assert not covered(address, ranges), address
    # coturn 4.6 applies an IPv6 range starting at "::" to every IPv4 peer (test_coturn saw it).
    assert all(str(low) != "::" for low, _ in ranges)


def test_docs_name_the_same_ports_as_compose_and_the_turn_config(compose: dict[str, Any]) -> None:
    doc = (ROOT / "docs" / "teleconsultation.md").read_text()
    media_range = compose["services"]["media"]["environment"]["MEDIA_UDP_PORTS"]
    options = dict(turn_options())
    for text in (media_range, f"{options['min-port']}-{options['max-port']}", options["listening-port"]):
        assert text in doc, text


# The media command, run for real.


def media_env(compose: dict[str, Any], **overrides: str) -> dict[str, str]:
    return process_env(compose["services"]["media"], CONSULTA_SECRET_KEY=SECRET, **overrides)


def origin_of(env: dict[str, str]) -> str:
    return "/".join(env["CONSULTA_BASE_URL"].split("/")[:3])


def token(room: str, participant: str = "p-1", role: str = "patient") -> str:
    return issue_token(media_key(SECRET), room, participant, role, time.time(), 60)


@pytest.mark.slow
def test_the_media_command_refuses_to_start_when_the_kernel_would_pick_other_ports(
    compose: dict[str, Any], redis_url: str
) -> None:
    first, last = parse_port_range(compose["services"]["media"]["environment"]["MEDIA_UDP_PORTS"])
    kernel = kernel_port_range()
    if kernel is not None and first <= kernel[0] and kernel[1] <= last:
        pytest.skip("this machine's ephemeral range already lies in compose's media range")
    argv = with_option(consulta_argv(compose["services"]["media"]["command"]), "--port", str(free_port()))
    result = subprocess.run(
        argv, env=media_env(compose, REDIS_URL=redis_url), capture_output=True, timeout=60
    )
    assert result.returncode != 0
    assert f"MEDIA_UDP_PORTS is {first}-{last}".encode() in result.stderr, result.stderr[-2000:]
    assert b"net.ipv4.ip_local_port_range" in result.stderr


def answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


@pytest.mark.slow
def test_two_media_processes_on_one_redis_admit_a_token_once(
    compose: dict[str, Any], redis_url: str, tmp_path: Path
) -> None:
    # This host's kernel range is not compose's (the namespace test below runs with it): no range check here.
    env = media_env(compose, REDIS_URL=redis_url, MEDIA_UDP_PORTS="")
    urls, processes = [], []
    for name in ("media-a", "media-b"):
        port = free_port()
        argv = with_option(consulta_argv(compose["services"]["media"]["command"]), "--host", "127.0.0.1")
        processes.append(start(with_option(argv, "--port", str(port)), env, tmp_path / f"{name}.log"))
        urls.append(f"127.0.0.1:{port}")
    try:
        for url in urls:
            wait_until(functools.partial(answers, f"http://{url}/healthz"), 60, url)
        shared = token("room-ops")

        async def scenario() -> tuple[dict[str, Any], str, dict[str, Any]]:
            patient = Participant(f"ws://{urls[0]}/media/ws", origin_of(env))
            intruder = Participant(f"ws://{urls[1]}/media/ws", origin_of(env))
            try:
                await patient.join(shared)
                during = httpx.get(f"http://{urls[0]}/healthz").json()
                try:
                    await intruder.join(shared)
                    refused = "admitted"
                except RuntimeError as error:
                    refused = str(error)
            finally:
                await patient.close()
                await intruder.close()
            return during, refused, httpx.get(f"http://{urls[1]}/healthz").json()

        during, refused, other = asyncio.run(scenario())
        assert during == {"status": "ok", "rooms": 1, "peers": 1}
        assert refused == "token refused"
        assert other == {"status": "ok", "rooms": 0, "peers": 0}
    finally:
        codes = [stop(process) for process in processes]
    for code, name in zip(codes, ("media-a", "media-b"), strict=True):
        assert_clean_stop(code, tmp_path / f"{name}.log")


def assert_clean_stop(code: int, log: Path) -> None:
    """uvicorn re-raises SIGTERM once its shutdown is complete: -15 after a clean shutdown is fine."""
    text = log.read_text()
    assert code in (0, -signal.SIGTERM) and "Application shutdown complete" in text, text[-2000:]


def namespaces_or_skip() -> None:
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        reason = "cannot create a network namespace here (unshare --net needs CAP_SYS_ADMIN)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.slow
def test_in_a_namespace_with_compose_sysctl_the_media_command_offers_only_published_ports(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    namespaces_or_skip()
    media = compose["services"]["media"]
    first, last = parse_port_range(media["environment"]["MEDIA_UDP_PORTS"])
    sysctl = media["sysctls"]["net.ipv4.ip_local_port_range"]
    # A container's network: loopback, one non-loopback address (aioice never offers 127.0.0.1), the sysctl.
    setup = (
        "ip link set lo up && ip addr add 10.99.0.1/32 dev lo && "
        f"echo '{sysctl}' > /proc/sys/net/ipv4/ip_local_port_range && exec \"$@\""
    )
    env = media_env(compose, REDIS_URL="")  # no Redis inside this namespace: the in-process set
    argv = consulta_argv(media["command"])  # unchanged: 0.0.0.0:8443 inside the namespace
    process = start(["unshare", "--net", "--", "sh", "-c", setup, "sh", *argv], env, tmp_path / "media.log")
    inside = ["nsenter", f"--net=/proc/{process.pid}/ns/net", "--"]
    probe_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        check = [sys.executable if a == "python" else a for a in media["healthcheck"]["test"][1:]]
        wait_until(
            lambda: subprocess.run([*inside, *check], capture_output=True, timeout=10).returncode == 0,
            60,
            f"the media health check\n{(tmp_path / 'media.log').read_text()[-2000:]}",
        )
        read = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:8443/healthz').read().decode())"
        health = subprocess.run([*inside, sys.executable, "-c", read], capture_output=True, timeout=20)
        assert json.loads(health.stdout) == {"status": "ok", "rooms": 0, "peers": 0}

        probe = [
            sys.executable,
            str(ROOT / "tests" / "ops" / "media_probe.py"),
            "ws://127.0.0.1:8443/media/ws",
        ]
        found = subprocess.run(
            [*inside, *probe, origin_of(env), token("room-ns")],
            capture_output=True,
            timeout=60,
            env=probe_env,
        )
        result = json.loads(found.stdout or b"{}")
        assert result.get("ready", {}).get("type") == "ready", found.stderr.decode()[-2000:]
        assert result["server_ports"] and all(first <= p <= last for p in result["server_ports"]), result
    finally:
        code = stop(process)
    assert_clean_stop(code, tmp_path / "media.log")
