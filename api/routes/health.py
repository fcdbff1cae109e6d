"""`/healthz`: answers in milliseconds under any load. Probes run at most once a second, in the background,
on their own connection (never the request pool, which a burst may have exhausted); callers read the last result."""

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool
from temporalio.client import Client

from core.db import make_async_engine
from core.settings import get_settings
from core.temporal import get_temporal_client

router = APIRouter(tags=["health"])
PROBE_TIMEOUT = 5.0  # slow under load is not down: callers never wait for it, they read the last answer
FRESH_FOR = 1.0


class Health(BaseModel):
    status: str
    temporal: str
    database: str


async def temporal_status(connect=get_temporal_client) -> str:
    try:
        client: Client = await asyncio.wait_for(connect(), timeout=PROBE_TIMEOUT)
        await asyncio.wait_for(client.service_client.check_health(), timeout=PROBE_TIMEOUT)
        return "ok"
    except Exception as error:  # noqa: BLE001  (any failure means "down", and says why)
        return f"down: {error or type(error).__name__}"


async def database_status(engine: AsyncEngine) -> str:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:  # noqa: BLE001
        return f"down: {type(error).__name__}"


class HealthProbe:
    """The last probe's answer, refreshed by one background probe at a time once it is older than FRESH_FOR.
    Only the very first call waits for a probe (bounded by PROBE_TIMEOUT)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.engine = make_async_engine(database_url, poolclass=NullPool)
        self.last: Health | None = None
        self.checked_at = 0.0
        self.running: asyncio.Task | None = None

    async def _probe(self) -> Health:
        temporal, database = await asyncio.gather(temporal_status(), database_status(self.engine))
        healthy = temporal == "ok" and database == "ok"
        self.last = Health(status="ok" if healthy else "degraded", temporal=temporal, database=database)
        self.checked_at = time.monotonic()
        return self.last

    async def current(self) -> Health:
        stale = time.monotonic() - self.checked_at > FRESH_FOR
        if stale and (self.running is None or self.running.done()):
            self.running = asyncio.create_task(self._probe())
        if self.last is None:
            return await asyncio.shield(self.running)
        return self.last


def probe_for(request: Request) -> HealthProbe:
    url = get_settings().database_url
    probe = getattr(request.app.state, "health_probe", None)
    if probe is None or probe.database_url != url:  # tests switch databases between apps' lifetimes
        probe = request.app.state.health_probe = HealthProbe(url)
    return probe


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request):
    """200 when Temporal and the database both answer; 503 naming the part that does not. The answer is at most
    about a second old."""
    body = await probe_for(request).current()
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)
