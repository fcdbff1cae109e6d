"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from fastapi import FastAPI

from api import errors, pages
from api.routes import (
    accounts, assessment, config, events, flywheel, handoff_specs, handoffs, health, layer_config, me, ops, plays,
    rituals, scenarios, scores, signals, tasks, users,
)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Pillar",
        version="0.1.0",
        description="Revenue-operations engine: signals, tasks, plays and handoffs as durable Temporal workflows.",
    )
    errors.install(app)
    for module in (health, users, me, accounts, config, signals, ops, events, scores, scenarios, layer_config,
                   handoff_specs, handoffs, tasks, plays, rituals, flywheel, assessment):
        app.include_router(module.router)
    pages.install(app)
    return app


app = create_app()
