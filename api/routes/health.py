import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from core.db import get_engine
from core.temporal import get_temporal_client

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    temporal: str
    database: str


async def _temporal_ok() -> str:
    try:
        client = await asyncio.wait_for(get_temporal_client(), timeout=3)
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        return "ok"
    except Exception as error:  # noqa: BLE001  (any failure means "down", and says why)
        return f"down: {error or type(error).__name__}"


def _database_ok() -> str:
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:  # noqa: BLE001
        return f"down: {type(error).__name__}"


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz():
    """200 when Temporal and the database both answer; 503 naming the part that does not."""
    temporal, database = await _temporal_ok(), await asyncio.to_thread(_database_ok)
    healthy = temporal == "ok" and database == "ok"
    body = Health(status="ok" if healthy else "degraded", temporal=temporal, database=database)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
