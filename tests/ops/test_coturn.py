"""coturn as compose.yaml runs it: the real turnserver, deploy/turnserver.conf, compose's command line.

Only the listening address and ports differ (loopback, free ports: options on
the command line override the file). A TURN client (aioice's) then proves
that the web app's time-limited credentials are accepted, expired or forged
ones refused (401), and that an allocation cannot reach loopback, private,
link-local or carrier-grade NAT addresses (403 Forbidden IP) while a
public-looking one gets its permission (nothing is sent anywhere).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun
from aioice.ice import get_host_addresses
from aiortc import RTCPeerConnection

from consulta.media.config import MediaConfig
from consulta.media.server import MediaService
from consulta.media.tokens import issue_token
from tests.ops.conftest import load_compose
from tests.ops.turn_client import (
    Turn,
    coturn_command,
    create_permission,
    error_of,
    free_ports,
    start_turn,
    stop_turn,
    turn_client,
    turnserver_or_skip,
)
from tests.tele.conftest import ORIGIN, serve_media
from tests.tele.media_client import Participant

pytestmark = pytest.mark.slow
SECRET = "coturn-test-secret"
REALM = "turn.consulta.test"
DENIED = ("127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.1.2.3",
          "192.0.2.2", "198.51.100.7")  # fmt: skip
PUBLIC = "1.2.3.4"  # a permission only: nothing is sent there


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    turnserver_or_skip()
    compose = load_compose({"CONSULTA_SECRET_KEY": "x", "MEDIA_TURN_SECRET": SECRET, "TURN_REALM": REALM})
    first, last = free_ports(21)
    command = coturn_command(compose["services"]["coturn"])
    running = start_turn(command, first, (first + 1, last), tmp_path_factory.mktemp("coturn"))
    yield running
    stop_turn(running)


def consulta_credentials(turn: Turn, secret: str = SECRET, now: float | None = None) -> tuple[str, str]:
    """What the web app gives a browser (MediaConfig.ice_servers), for this coturn."""
    config = MediaConfig(key=b"k", turn_urls=(f"turn:{turn.host}:{turn.port}",), turn_secret=secret)
    (server,) = config.ice_servers("participant-1", time.time() if now is None else now)
    return server["username"], server["credential"]


async def refusal(turn: Turn, username: str, password: str) -> int:
    client = await turn_client(turn, username, password)
    try:
        await client.connect()
    except stun.TransactionFailed as failure:
        return error_of(failure)[0]
    finally:
        client.transport.close()
    await client.delete()
    return 0


def test_consulta_credentials_give_an_allocation_in_the_relay_range(turn: Turn) -> None:
    async def scenario() -> None:
        client = await turn_client(turn, *consulta_credentials(turn))
        _, port = await client.connect()
        assert client.realm == REALM  # compose's --realm overrides the file's
        assert turn.relay_ports[0] <= port <= turn.relay_ports[1], (port, turn.output())
        await client.delete()

    asyncio.run(scenario())


def test_expired_forged_or_unsigned_credentials_are_refused(turn: Turn) -> None:
    username, password = consulta_credentials(turn)
    expired = consulta_credentials(turn, now=time.time() - 3601 - 60)
    other_participant = username.replace("participant-1", "participant-2")
    results = asyncio.run(
        _all(
            refusal(turn, *expired),
            refusal(turn, *consulta_credentials(turn, secret="not-the-secret")),
            refusal(turn, other_participant, password),
            refusal(turn, "participant-1", password),
        )
    )
    assert results == [401, 401, 401, 401], turn.output()


async def _all(*work: object) -> list[int]:
    return list(await asyncio.gather(*work))  # type: ignore[call-overload]


def test_no_relay_to_loopback_private_or_link_local_addresses(turn: Turn) -> None:
    async def scenario() -> dict[str, object]:
        client = await turn_client(turn, *consulta_credentials(turn))
        await client.connect()
        found: dict[str, object] = {}
        for address in (*DENIED, PUBLIC):
            try:
                await create_permission(client, address)
                found[address] = "permitted"
            except stun.TransactionFailed as failure:
                found[address] = error_of(failure)
        try:  # sending goes through a channel binding, refused the same way
            await client.channel_bind(0x4000, ("127.0.0.1", 5432))
            found["channel to 127.0.0.1:5432"] = "bound"
        except stun.TransactionFailed as failure:
            found["channel to 127.0.0.1:5432"] = error_of(failure)
        await client.delete()
        return found

    found = asyncio.run(scenario())
    forbidden = (403, "Forbidden IP")
    assert found == {
        **dict.fromkeys(DENIED, forbidden),
        PUBLIC: "permitted",
        "channel to 127.0.0.1:5432": forbidden,
    }


def test_without_a_long_enough_secret_coturn_does_not_start(tmp_path: Path) -> None:
    """coturn itself would start with an empty secret and accept credentials signed with the empty key."""
    turnserver_or_skip()
    for secret in (None, "short"):
        env = {"CONSULTA_SECRET_KEY": "x", **({"MEDIA_TURN_SECRET": secret} if secret else {})}
        argv, process_env = coturn_command(load_compose(env)["services"]["coturn"])
        first, _ = free_ports(1)
        result = subprocess.run(
            [*argv, "--listening-ip=127.0.0.1", f"--listening-port={first}", f"--pidfile={tmp_path / 'pid'}"],
            env=process_env,
            capture_output=True,
            timeout=20,
        )
        assert result.returncode == 64, result
        assert b"set MEDIA_TURN_SECRET" in result.stderr


def test_the_secret_reaches_turnserver_intact_whatever_its_characters(tmp_path: Path) -> None:
    """No shell `eval` on the way: a secret with quotes, spaces and `$(...)` signs credentials as given."""
    turnserver_or_skip()
    secret = "a b'c\"$(touch pwned)`x`;$HOME"
    env = {"CONSULTA_SECRET_KEY": "x", "MEDIA_TURN_SECRET": secret}
    command = coturn_command(load_compose(env)["services"]["coturn"])
    first, last = free_ports(6)
    running = start_turn(command, first, (first + 1, last), tmp_path)
    try:
        assert asyncio.run(refusal(running, *consulta_credentials(running, secret=secret))) == 0
        assert asyncio.run(refusal(running, *consulta_credentials(running, secret="a b"))) == 401
    finally:
        stop_turn(running)
    assert not (tmp_path / "pwned").exists()


def test_the_media_service_in_relay_only_mode_offers_only_coturn_relay_candidates(turn: Turn) -> None:
    config = MediaConfig(
        key=b"k", turn_urls=(f"turn:{turn.host}:{turn.port}",), turn_secret=SECRET, relay_only=True
    )

    async def scenario() -> list[str]:
        service = MediaService(config)
        pc = RTCPeerConnection(service.rtc_configuration())
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        lines = [line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate:")]
        await pc.close()
        await service.shutdown()
        return lines

    candidates = asyncio.run(scenario())
    assert candidates, turn.output()
    for line in candidates:
        fields = line.split()
        assert fields[7] == "relay", line
        assert turn.relay_ports[0] <= int(fields[5]) <= turn.relay_ports[1], line


def test_a_call_goes_through_coturn_when_the_media_service_relays_only(tmp_path: Path) -> None:
    """Relay-only mode end to end: the service offers only coturn's relay candidates, and media flow.

    This machine's addresses are all in ranges the configuration denies (private or documentation),
    so this coturn allows exactly them (`--allowed-peer-ip`, command line only); everything else is
    compose's command and deploy/turnserver.conf.
    """
    turnserver_or_skip()
    own = [a for a in get_host_addresses(use_ipv4=True, use_ipv6=False) if not a.startswith("127.")]
    if not own:
        pytest.skip("no non-loopback IPv4 address on this machine")
    compose = load_compose({"CONSULTA_SECRET_KEY": "x", "MEDIA_TURN_SECRET": SECRET, "TURN_REALM": REALM})
    first, last = free_ports(21)
    allow = [f"--allowed-peer-ip={address}" for address in own]
    running = start_turn(
        coturn_command(compose["services"]["coturn"]), first, (first + 1, last), tmp_path, *allow, host=own[0]
    )
    config = MediaConfig(
        key=b"relay-test-key",
        allowed_origins=(ORIGIN,),
        turn_urls=(f"turn:{running.host}:{running.port}",),
        turn_secret=SECRET,
        relay_only=True,
    )
    media, server, thread = serve_media(config)

    async def scenario() -> tuple[list[str], int, int]:
        patient, doctor = Participant(media.url, ORIGIN), Participant(media.url, ORIGIN)
        try:
            await patient.join(issue_token(config.key, "room-relay", "p-1", "patient", time.time(), 30))
            await doctor.join(issue_token(config.key, "room-relay", "d-1", "practitioner", time.time(), 30))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and min(patient.frames, doctor.frames) < 10:
                await asyncio.sleep(0.2)
            offered = [
                line.split()[7]
                for line in patient.pc.remoteDescription.sdp.splitlines()
                if line.startswith("a=candidate:")
            ]
            return offered, patient.frames, doctor.frames
        finally:
            await patient.close()
            await doctor.close()

    try:
        offered, patient_frames, doctor_frames = asyncio.run(scenario())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        stop_turn(running)
    assert offered and set(offered) == {"relay"}, offered
    assert patient_frames >= 10 and doctor_frames >= 10, running.output()


def test_a_relay_outlives_its_credentials_but_no_new_allocation_does(tmp_path: Path) -> None:
    """Credentials are checked when a browser allocates: a call longer than their hour keeps its relay.

    The nonce is made stale after 2 s here (600 s in the file) so that the refresh must authenticate again.
    """
    turnserver_or_skip()
    compose = load_compose({"CONSULTA_SECRET_KEY": "x", "MEDIA_TURN_SECRET": SECRET, "TURN_REALM": REALM})
    first, last = free_ports(6)
    command = coturn_command(compose["services"]["coturn"])
    running = start_turn(command, first, (first + 1, last), tmp_path, "--stale-nonce=2")
    credentials = consulta_credentials(running, now=time.time() - 3600 + 2)  # they expire in 2 s

    async def scenario() -> tuple[object, object, int]:
        client = await turn_client(running, *credentials)
        await client.connect()
        nonce = client.nonce
        await asyncio.sleep(4.5)
        refresh = stun.Message(message_method=stun.Method.REFRESH, message_class=stun.Class.REQUEST)
        refresh.attributes["LIFETIME"] = 600
        refreshed, _ = await client.request_with_retry(refresh)
        assert client.nonce != nonce  # 438 Stale Nonce, then the expired credentials again: accepted
        await create_permission(client, PUBLIC)
        await client.delete()
        return refreshed.attributes["LIFETIME"], "permitted", await refusal(running, *credentials)

    try:
        assert asyncio.run(scenario()) == (600, "permitted", 401)
    finally:
        stop_turn(running)
