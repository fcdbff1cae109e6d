from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from api.deps import AsyncSessionDep, CurrentUser, Principal, SessionDep, TemporalDep, require_roles
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.db import in_session_threaded
from models.common import Role
from models.detection import DetectionRunIn, DetectionRunOut
from models.events import AccountEvent, EventBatch, EventKind, StoredEvent
from services import events
from services.events import IngestResult, ingest

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERROR_RESPONSES)

EventWriter = Annotated[Principal, Depends(require_roles(Role.revops, Role.ops, Role.integration))]


@router.post("/events", status_code=status.HTTP_201_CREATED, response_model=IngestResult)
async def post_event(event: Annotated[AccountEvent, Body()], session: AsyncSessionDep, client: TemporalDep, user: EventWriter) -> IngestResult:
    """Store one event, rescore its account and open the signals it triggers."""
    return await ingest(session, client, [event], actor=user.id)


@router.post("/events/batch", status_code=status.HTTP_201_CREATED, response_model=IngestResult)
async def post_events(body: EventBatch, session: AsyncSessionDep, client: TemporalDep, user: EventWriter) -> IngestResult:
    """Store up to 1000 events in one transaction: one invalid event (422 naming its index and field) stores none.
    An event whose `external_id` was seen before is counted as a duplicate, not stored twice."""
    return await ingest(session, client, body.events, actor=user.id)


@router.get("/events", response_model=list[StoredEvent], responses=PAGED, description=(
    "An account's events, newest first (none for an account the caller may not see)." + PAGING_NOTE))
def list_events(
    session: SessionDep, user: CurrentUser, paging: PagingDep, account_id: Annotated[str, Query(min_length=1, max_length=200)], kind: EventKind | None = None,
) -> list[StoredEvent]:
    return paging.send(events.list_events(session, account_id, kind.value if kind else None, paging.page, viewer=user))


@router.post("/detection/run", response_model=DetectionRunOut)
async def run_detection(session: AsyncSessionDep, client: TemporalDep, user: EventWriter, body: DetectionRunIn | None = None) -> DetectionRunOut:
    """Rescore and evaluate every signal definition at `as_of` (default now), for time-based conditions such as
    inactivity that no new event will trigger. Safe to repeat: a condition fires once per dedup window. The detection
    sweep does the same on its schedule (`detection_sweep_interval`); this runs it now."""
    body = body or DetectionRunIn()
    as_of = body.as_of or datetime.now(UTC)
    _, queued, accounts = await in_session_threaded(session, events.rescore_book, body.account_ids, as_of, True, user.id)
    signals = await events.open_detected(session, client, queued)
    return DetectionRunOut(as_of=as_of, accounts=accounts, signals=signals)
