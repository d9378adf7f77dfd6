"""Join a media room once and print what was negotiated (run by test_media_deployment inside a namespace).

    python tests/ops/media_probe.py WS_URL ORIGIN TOKEN
prints {"ready": {...}, "server_ports": [...], "own_ports": [...]} or {"refused": "..."}.
"""

from __future__ import annotations

import asyncio
import json
import sys

from tests.tele.media_client import Participant


def candidate_ports(sdp: str) -> list[int]:
    return [int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate:")]


async def probe(url: str, origin: str, token: str) -> dict[str, object]:
    participant = Participant(url, origin)
    try:
        ready = await participant.join(token)
        return {
            "ready": ready,
            "server_ports": candidate_ports(participant.pc.remoteDescription.sdp),
            "own_ports": candidate_ports(participant.pc.localDescription.sdp),
        }
    except RuntimeError as error:
        return {"refused": str(error)}
    finally:
        await participant.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(*sys.argv[1:4]))))
