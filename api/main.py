"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp

from api import errors, metrics, pages
from api.agent.endpoint import McpEndpoint
from api.backpressure import Backpressure
from api.body_limit import BodyLimit
from api.routes import (
    account_calendars, accounts, assessment, config, deliveries, events, flywheel, handoff_specs, handoffs, health,
    inventory, layer_config, me, metrics_response, ops, plays, proposals, rituals, scenarios, scores, signals, tasks,
    territory, users,
)
from api.routes import rotations
from api.warmup import lifespan as warm_up
from core.settings import get_settings
from core.tracing import fastapi_telemetry, start_tracing


class PillarAPI(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Request metrics, then backpressure, wrap Starlette's whole stack, error handling included: a middleware
        # added the usual way sits inside ServerErrorMiddleware and would count a 503 from the last-resort handler
        # as a 500, and an overloaded server would still queue requests into its error handling.
        settings = get_settings()
        bounded = BodyLimit(super().build_middleware_stack(), settings.api_max_body_bytes)
        limited = Backpressure(bounded, max_in_flight=settings.api_max_in_flight,
                               queue_timeout=settings.api_queue_timeout, retry_after=settings.retry_after_seconds)
        return metrics.MetricsMiddleware(limited, self.state.metrics)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with warm_up(app), app.state.mcp.running():
        yield


def create_app() -> FastAPI:
    app = PillarAPI(
        title="Pillar",
        version="0.1.0",
        description="Revenue-operations engine: signals, tasks, plays and handoffs as durable Temporal workflows.",
        lifespan=lifespan,
        telemetry=fastapi_telemetry(start_tracing(get_settings(), "pillar-api")),
    )
    app.state.metrics = metrics.RequestMetrics()
    errors.install(app)
    for module in (health, users, me, accounts, account_calendars, config, signals, deliveries, ops, events, scores,
                   scenarios, layer_config, handoff_specs, handoffs, tasks, plays, rituals, flywheel, assessment,
                   territory, proposals, inventory, metrics, metrics_response):
        app.include_router(module.router)
    app.include_router(users.admin_router)
    app.include_router(rotations.router)
    # MCP (streamable HTTP) for AI agents: the same tokens, tools over the same services (api/agent)
    app.state.mcp = McpEndpoint()
    # POST only: stateless JSON answers, so no session to DELETE and no server-to-client stream to GET (it would
    # hold a connection open for nothing)
    app.router.routes.append(Route("/mcp", endpoint=app.state.mcp, methods=["POST"], include_in_schema=False))
    pages.install(app)
    return app


app = create_app()
