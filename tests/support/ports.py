"""Loopback ports for the servers a test starts, taken from PORTAL_TEST_PORTS (default
3400-3499) so that parallel runs on one machine can be given disjoint ranges."""

from __future__ import annotations

import os
import socket

DEFAULT_RANGE = "3400-3499"


def port_range() -> range:
    low, _, high = os.environ.get("PORTAL_TEST_PORTS", DEFAULT_RANGE).partition("-")
    return range(int(low), int(high) + 1)


def bind_in_range(sock: socket.socket, host: str = "127.0.0.1", ports: range | None = None) -> int:
    """Binds `sock` to the first free port of `ports` (the test range by default) and returns it;
    binding is the reservation, so two callers can never be handed the same port."""
    ports = ports or port_range()
    for port in ports:
        try:
            sock.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port on {host} in {ports.start}-{ports.stop - 1}")


def free_port(host: str = "127.0.0.1", ports: range | None = None) -> int:
    """A port of the test range nothing listens on now, for a server in another process; that
    process may still lose it to a parallel run, so such servers retry on a bind error."""
    with socket.socket() as probe:
        return bind_in_range(probe, host, ports)


def free_ports(count: int, host: str = "127.0.0.1", ports: range | None = None) -> list[int]:
    """`count` distinct free ports, for servers started together (see free_port)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        return [bind_in_range(probe, host, ports) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
