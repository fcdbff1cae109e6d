from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import AsyncSessionDep, CurrentUser
from api.errors import ERROR_RESPONSES
from core.db import in_session_threaded
from models.response import ResponseMetrics
from services.response_metrics import DEFAULT_WEEKS, MAX_WEEKS, metrics_csv, parse_by, response_metrics

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], responses=ERROR_RESPONSES)
CSV = "text/csv"


def wants_csv(request: Request, format_: str | None) -> bool:
    return format_ == "csv" or (format_ is None and CSV in request.headers.get("accept", ""))


@router.get("/response", response_model=ResponseMetrics,
            responses={200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}})
async def get_response_metrics(
    request: Request,
    session: AsyncSessionDep,
    user: CurrentUser,
    by: Annotated[str | None, Query(max_length=60, description="Group by any of family, severity, team, owner, week "
                                                               "(comma-separated, e.g. `family,week`)")] = None,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS, description="Whole weeks back, this one included")] = DEFAULT_WEEKS,
    format_: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None,
) -> ResponseMetrics | Response:
    """Time to acknowledge, to first task and to resolution (median and p90, seconds), SLA compliance and escalation
    rate of the signals raised in the window, grouped by `by`. A manager's figures cover their team's accounts (and
    work involving their reports), vp, cro, revops, ops and admin the whole book, anyone else their own accounts.
    `?format=csv` or `Accept: text/csv` answers CSV."""
    dimensions = parse_by(by)
    metrics = await in_session_threaded(session, response_metrics, dimensions, weeks, user)  # compiling it is CPU work
    if wants_csv(request, format_):
        return Response(metrics_csv(metrics), media_type=CSV,
                        headers={"Content-Disposition": 'attachment; filename="response-metrics.csv"'})
    return metrics
