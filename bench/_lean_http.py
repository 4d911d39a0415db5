"""A load client that costs the machine next to nothing: HTTP/1.1 GETs on keep-alive sockets.

The benchmarks share two cores between the load client, the server and PostgreSQL, so the
client's own CPU is taken from the server's share. httpx spends 2-3.6 ms of CPU a request
(measured in ``bench/apps_list.py``); a benchmark tool written in C (wrk, oha) spends a few
microseconds. This client sends a fixed request per path over ``asyncio`` streams on uvloop
and reads the answer by its ``content-length``: tens of microseconds a request, so what a
series measures is the server. It speaks only what the API answers with (a status line,
headers, a body of known length); anything else is an error, not a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from urllib.parse import urlsplit


class LeanConnection:
    """One keep-alive connection to the server; GETs one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str) -> LeanConnection:
        parts = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer)

    async def get(self, request: bytes) -> tuple[int, bytes]:
        """Send a prepared request; the status and the body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        if length < 0:
            raise RuntimeError(f"answer without content-length: {head[:200]!r}")
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def prepared_requests(base_url: str, paths: Sequence[str], headers: dict[str, str]) -> list[bytes]:
    """The bytes of each GET, built before timing starts."""
    host = urlsplit(base_url).netloc
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return [
        f"GET {path} HTTP/1.1\r\nhost: {host}\r\n{extra}\r\n".encode("latin-1") for path in paths
    ]


async def lean_load(
    base_url: str, requests: Sequence[bytes], concurrency: int
) -> tuple[list[float], float, int]:
    """Every request once, ``concurrency`` connections in flight: latencies, wall, errors."""
    connections = [await LeanConnection.open(base_url) for _ in range(concurrency)]
    latencies = [0.0] * len(requests)
    errors = 0
    todo = iter(range(len(requests)))

    async def worker(conn: LeanConnection) -> None:
        nonlocal errors
        for i in todo:  # one shared iterator: each index goes to exactly one worker
            t0 = time.perf_counter()
            status, _body = await conn.get(requests[i])
            latencies[i] = time.perf_counter() - t0
            if status != 200:
                errors += 1

    try:
        began = time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in connections))
        wall = time.perf_counter() - began
    finally:
        for conn in connections:
            conn.close()
    return latencies, wall, errors
