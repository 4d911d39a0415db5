"""Counts and times every HTTP request for ``GET /metrics`` (control/system/prometheus.py).

Install it first: its ``process_request`` runs before any other middleware can refuse
the request, and its ``process_response`` runs last, with the final status. Requests are
labelled by route *template*: Falcon's ``req.uri_template`` once routed, the router's
template for an API request refused before routing (rate limit, body limit),
``<static>`` for the documentation's files, ``<unmatched>`` for anything else.
"""

from __future__ import annotations

import time

import falcon.asgi

from control.system.prometheus import STATIC, UNMATCHED, PrometheusMetrics
from web.routing import RouteTable

STATIC_PREFIX = "/api/static/"
API_PREFIX = "/api/v1/"


def route_label(req: falcon.asgi.Request, routes: RouteTable) -> str:
    """The bounded route label of a request (never the raw path)."""
    if req.uri_template:
        return req.uri_template
    if req.path.startswith(STATIC_PREFIX):
        return STATIC
    if req.path.startswith(API_PREFIX):
        return routes.template_for(req.path, req.method) or UNMATCHED
    return UNMATCHED


class MetricsMiddleware:
    """Feeds :class:`PrometheusMetrics` with each request's route, status and latency."""

    def __init__(self, metrics: PrometheusMetrics, routes: RouteTable) -> None:
        self.metrics = metrics
        self.routes = routes

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        self.metrics.observe(
            req.method,
            route_label(req, self.routes),
            resp.status_code,
            time.perf_counter() - started,
        )
