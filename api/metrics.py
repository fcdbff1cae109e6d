"""`GET /metrics`: the API's requests for Prometheus, counted by a pure ASGI middleware.

Labels are the route template (`/api/v1/signals/{signal_id}`, never the raw path, so the number of series stays
bounded), the method and the status. Under `uvicorn --workers N`, set PROMETHEUS_MULTIPROC_DIR to an empty
directory before starting: each worker process then writes its numbers there and `/metrics`, whichever process
answers, adds them all up (prometheus_client's multiprocess mode)."""

import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PillarError
from core.security import same_token
from core.settings import get_settings

UNMATCHED = "<unmatched>"  # the route label of requests no route answered (404s of unknown paths)
OVERLOAD_STATUSES = (429, 503)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other is labelled OTHER
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RequestMetrics:
    """The API's metrics, one set per app (a test may build several apps in one process)."""

    def __init__(self) -> None:
        disable_created_metrics()  # no `*_created` series: they would double the series Prometheus stores
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "pillar_http_requests", "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "pillar_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge(
            "pillar_http_requests_in_flight", "HTTP requests being answered now",
            registry=self.registry, multiprocess_mode="livesum",
        )
        self.refusals = Counter(
            "pillar_http_overload_refusals", "Requests refused for overload (503 unavailable, 429 rate_limited)",
            ["route", "status"], registry=self.registry,
        )

    def exposition(self) -> bytes:
        directory = get_settings().prometheus_multiproc_dir
        if not directory:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that answered; for a mount (static files), its prefix. `root_path` is the scope's
    before routing: a mount extends it."""
    if template := getattr(scope.get("route"), "path_format", None):
        return template
    if (endpoint := scope.get("endpoint")) is not None:
        # FastAPI records only its own routes in the scope; a plain Starlette one (/openapi.json, /docs) is found here
        for route in getattr(scope.get("app"), "routes", ()):
            if getattr(route, "endpoint", None) is endpoint:
                return route.path_format
    if (mounted := scope.get("root_path", "")) != root_path:
        return mounted.removeprefix(root_path) + "/{path}"
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI (BaseHTTPMiddleware would cost a task and a stream per request). Installed outermost (see
    api/main.py: `PillarAPI`), so it also sees the status the app's last-resort error handler answers."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering
        root_path, started = scope.get("root_path", ""), time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            route = route_template(scope, root_path)
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            self.metrics.requests.labels(route, method, str(status)).inc()
            if status in OVERLOAD_STATUSES:
                self.metrics.refusals.labels(route, str(status)).inc()


def metrics_reader(request: Request) -> None:
    """With `metrics_token` set, only a scraper holding it may read; otherwise anyone who reaches the port."""
    expected = get_settings().metrics_token
    if not expected:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not same_token(token.strip(), expected):
        raise PillarError("unauthorized", "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>")


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
def metrics(request: Request) -> Response:
    """Prometheus text format: this process's requests, or every worker process's in multiprocess mode."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
