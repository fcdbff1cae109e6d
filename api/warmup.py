"""Build at startup what FastAPI and pydantic otherwise build on first use: each included router's routes (their
dependants and validators), the OpenAPI document and the async database engine. Left to the first request, that work holds the event loop for
hundreds of milliseconds in every new API process."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.db import get_async_engine
from core.settings import get_settings
from models.calendars import holiday_countries


def _build(routes) -> None:
    for route in routes:
        for lazy in ("effective_candidates", "effective_low_priority_routes"):  # FastAPI's lazily included routers
            build = getattr(route, lazy, None)
            if callable(build):
                _build(build())


def warm_up(app: FastAPI) -> None:
    _build(app.router.routes)
    app.openapi()
    get_async_engine()  # imports the async driver's modules: the first request would import them on the loop
    holiday_countries()  # the holidays package's country list, which a calendar's validation reads on the loop


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if not get_settings().pillar_signing_key:
        raise RuntimeError("PILLAR_SIGNING_KEY is not set: workflows refuse updates it does not sign (the worker holds "
                           "the same key; `make run` keeps one under .pillar/)")
    await asyncio.to_thread(warm_up, app)
    gc.freeze()  # what startup built lives as long as the process: full collections under load need not walk it
    yield
