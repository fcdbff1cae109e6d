"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from fastapi import FastAPI

from api import errors, pages
from api.backpressure import Backpressure
from api.warmup import lifespan
from core.settings import get_settings
from api.routes import (
    accounts, assessment, config, events, flywheel, handoff_specs, handoffs, health, layer_config, me, ops, plays,
    rituals, scenarios, scores, signals, tasks, users,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Pillar",
        version="0.1.0",
        description="Revenue-operations engine: signals, tasks, plays and handoffs as durable Temporal workflows.",
        lifespan=lifespan,
    )
    errors.install(app)
    for module in (health, users, me, accounts, config, signals, ops, events, scores, scenarios, layer_config,
                   handoff_specs, handoffs, tasks, plays, rituals, flywheel, assessment):
        app.include_router(module.router)
    pages.install(app)
    settings = get_settings()
    app.add_middleware(Backpressure, max_in_flight=settings.api_max_in_flight, queue_timeout=settings.api_queue_timeout,
                       retry_after=settings.retry_after_seconds)
    return app


app = create_app()
