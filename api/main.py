"""The FastAPI app: a thin layer that starts, updates and queries workflows, and serves read models."""

from fastapi import FastAPI

from api import errors
from api.routes import accounts, config, health, me, ops, signals, users


def create_app() -> FastAPI:
    app = FastAPI(
        title="Pillar",
        version="0.1.0",
        description="Revenue-operations engine: signals, tasks, plays and handoffs as durable Temporal workflows.",
    )
    errors.install(app)
    for module in (health, users, me, accounts, config, signals, ops):
        app.include_router(module.router)
    return app


app = create_app()
