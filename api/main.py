"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from fastapi import FastAPI

from api import errors, pages
from api.routes import accounts, config, health, me, ops, signals, users
from api.routes import events, layer_config, scenarios, scores
from api.routes import handoff_specs, handoffs
from api.routes import plays, tasks
from api.routes import assessment, flywheel, rituals


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
