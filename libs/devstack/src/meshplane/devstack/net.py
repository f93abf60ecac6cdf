"""Ports and "does it answer?" probes for the local stack.

The probes are deliberately small and dependency-free: the launcher polls them every tenth of a
second while a service starts, and ``devstack status`` calls them once per service, so they must
fail fast and quietly (no client library logging its reconnect attempts).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import struct
from collections.abc import Collection

LOCALHOST = "127.0.0.1"

# The ports `make up` uses by default. Test fixtures never pick these, so a stack started by
# `make up` later (or already running on them) is never disturbed by a test run.
MAKE_UP_DEFAULT_PORTS = frozenset({9092, 9093, 8765, 8181})


def make_up_ports() -> frozenset[int]:
    """The ports ``make up`` may use: the defaults plus KAFKA_PORT / SNOWLOCAL_PORT / OPA_PORT when set."""
    ports = set(MAKE_UP_DEFAULT_PORTS)
    for name in ("KAFKA_PORT", "SNOWLOCAL_PORT", "OPA_PORT"):
        value = os.environ.get(name, "")
        if value.isdigit():
            ports.add(int(value))
            if name == "KAFKA_PORT":
                # devstack up puts Kafka's controller listener on the next port.
                ports.add(int(value) + 1)
    return frozenset(ports)


def free_ports(count: int, host: str = LOCALHOST, avoid: Collection[int] = ()) -> list[int]:
    """``count`` distinct ports that nothing listens on now, never one of ``avoid``.

    The sockets are held open until all ports are chosen so the kernel hands out distinct ones.
    Another process could still take a port before our service binds it; the launcher then
    reports the port as taken rather than starting something half-working.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def free_port(host: str = LOCALHOST, avoid: Collection[int] = ()) -> int:
    """One port nothing listens on now (see :func:`free_ports`)."""
    return free_ports(1, host, avoid)[0]


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` would fail, i.e. something already listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers (the JVM, uvicorn) set SO_REUSEADDR, so a port held only by TIME_WAIT
        # connections of a previous run is free for them and must count as free here too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def http_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether an HTTP server answers on ``host:port``; any status code counts as an answer."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return True


# Kafka wire protocol, just enough for one Metadata request (API key 3) at version 4, which every
# 4.x broker serves. Version 4 has no tagged fields, so the encoding is fixed-width and simple.
_METADATA_API_KEY = 3
_METADATA_VERSION = 4
_CORRELATION_ID = 0x4D455348  # arbitrary, checked on the way back
_CLIENT_ID = b"meshplane-devstack"


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def kafka_broker_count(host: str, port: int, timeout: float = 1.0) -> int:
    """How many live brokers a Metadata request to ``host:port`` lists (raises OSError if none answers).

    A KRaft broker only lists brokers that are registered and unfenced, so a count of at least
    one means the broker is ready for clients, not merely that its socket is open.
    """
    request = (
        struct.pack(">hhih", _METADATA_API_KEY, _METADATA_VERSION, _CORRELATION_ID, len(_CLIENT_ID))
        + _CLIENT_ID
        + struct.pack(">i", 0)  # topics: an empty array asks for no topics, only brokers
        + struct.pack(">?", False)  # allow_auto_topic_creation
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        response = _recv_exact(sock, size)
    correlation_id, _throttle_ms, broker_count = struct.unpack_from(">iii", response)
    if correlation_id != _CORRELATION_ID:
        raise ConnectionError("not a Kafka metadata response")
    return int(broker_count)


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a Kafka broker on ``host:port`` answers a Metadata request and lists a live broker."""
    with contextlib.suppress(OSError, struct.error):
        return kafka_broker_count(host, port, timeout) > 0
    return False
