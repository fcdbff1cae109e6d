"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from fastapi import FastAPI
from starlette.types import ASGIApp

from api import errors, metrics, pages
from api.routes import (
    accounts, assessment, config, events, flywheel, handoff_specs, handoffs, health, layer_config, me, ops, plays,
    rituals, scenarios, scores, signals, tasks, users,
)
from core.settings import get_settings
from core.tracing import fastapi_telemetry, start_tracing


class PillarAPI(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Request metrics wrap Starlette's whole stack, error handling included: a middleware added the usual way
        # sits inside ServerErrorMiddleware and would count a 503 from the last-resort handler as a 500.
        return metrics.MetricsMiddleware(super().build_middleware_stack(), self.state.metrics)


def create_app() -> FastAPI:
    app = PillarAPI(
        title="Pillar",
        version="0.1.0",
        description="Revenue-operations engine: signals, tasks, plays and handoffs as durable Temporal workflows.",
        telemetry=fastapi_telemetry(start_tracing(get_settings(), "pillar-api")),
    )
    app.state.metrics = metrics.RequestMetrics()
    errors.install(app)
    for module in (health, users, me, accounts, config, signals, ops, events, scores, scenarios, layer_config,
                   handoff_specs, handoffs, tasks, plays, rituals, flywheel, assessment, metrics):
        app.include_router(module.router)
    pages.install(app)
    return app


app = create_app()
