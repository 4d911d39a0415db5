"""The client's address: the peer, or X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import falcon

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(entries: Iterable[str]) -> list[Network]:
    """Trusted proxies as networks ('10.0.0.1' or '10.0.0.0/8')."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def _trusted(address: str, proxies: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(req: falcon.Request, proxies: list[Network]) -> str:
    """The first untrusted address walking X-Forwarded-For from the right, if the peer is a
    trusted proxy; otherwise the peer itself (a spoofed header from anyone else is ignored)."""
    peer = req.remote_addr or "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = req.get_header("X-Forwarded-For") or ""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer
