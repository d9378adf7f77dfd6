"""The UDP ports of the media service's peer connections, and the check that keeps them in range.

aioice (under aiortc) binds port 0 for every local candidate and has no
port-range setting, so the kernel chooses: from the network namespace's
`net.ipv4.ip_local_port_range` (IPv6 sockets use the same one). The
deployment gives the media container its own range (compose.yaml:
`sysctls`) and publishes exactly that range; `MEDIA_UDP_PORTS` names it, and
`consulta media` refuses to start when the kernel would choose outside it,
rather than offer candidates on ports nobody can reach.
"""

from __future__ import annotations

from pathlib import Path

KERNEL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


class PortRangeError(RuntimeError):
    pass


def kernel_port_range(path: Path = KERNEL_RANGE) -> tuple[int, int] | None:
    try:
        low, high = path.read_text().split()
    except (OSError, ValueError):
        return None
    return int(low), int(high)


def check_udp_ports(wanted: tuple[int, int] | None, path: Path = KERNEL_RANGE) -> None:
    """Raise PortRangeError unless every port the kernel may pick lies in `wanted` (None: no check)."""
    if wanted is None:
        return
    actual = kernel_port_range(path)
    if actual is None:
        raise PortRangeError(f"MEDIA_UDP_PORTS is set but {path} cannot be read on this system")
    if not (wanted[0] <= actual[0] and actual[1] <= wanted[1]):
        raise PortRangeError(
            f"MEDIA_UDP_PORTS is {wanted[0]}-{wanted[1]} but the kernel picks UDP ports from "
            f"{actual[0]}-{actual[1]} (net.ipv4.ip_local_port_range): set that sysctl for the media "
            f"container to the same range (compose.yaml does), or unset MEDIA_UDP_PORTS"
        )
