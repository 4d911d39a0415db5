"""Resolves the client's address once per request (``req.context.client_ip``)."""

from __future__ import annotations

import falcon.asgi

from web.client_ip import client_ip, parse_proxies


class ClientIpMiddleware:
    """Trusts X-Forwarded-For only from the configured proxies."""

    def __init__(self, trusted_proxies: list[str]) -> None:
        self.proxies = parse_proxies(trusted_proxies)

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.client_ip = client_ip(req, self.proxies)

    async def process_request_ws(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        req.context.client_ip = client_ip(req, self.proxies)  # for the per-IP socket limit
