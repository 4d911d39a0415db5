"""The per-owner budget: one user's (or service client's) requests across all their
credentials, charged once authentication has said who is calling.

It runs after :class:`~web.middleware.authentication.AuthenticationMiddleware` and shares
the store, limit and outage handling of :class:`~web.middleware.rate_limit.RateLimitMiddleware`,
which counts everything that can be counted before a credential is verified.
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from control.auth.principal import Principal
from web.middleware.rate_limit import RateLimitMiddleware


class OwnerRateLimitMiddleware:
    """Charges each authenticated request to ``owner:<user:id|service:id>``."""

    def __init__(self, limiter: RateLimitMiddleware) -> None:
        self.limiter = limiter

    async def process_resource(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        principal: Principal | None = getattr(req.context, "principal", None)
        if principal is not None:
            await self.limiter.charge_owner(req, principal.owner)
