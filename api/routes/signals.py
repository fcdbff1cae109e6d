from fastapi import APIRouter, Query, Request, Response, status

from api.deps import AsyncSessionDep, CurrentUser, PathId, QueryText, ReadCacheDep, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from api.paging_lag import paging_lag_for
from api.visibility import sees
from core.db import in_session
from models.signals import (
    AcknowledgeResult,
    ReassignRequest,
    SignalCreated,
    SignalDetail,
    SignalIn,
    SignalStatus,
    SignalSummary,
)
from models.tasks import Task, TaskIn
from services.signals import CALLER_KEYS, acknowledge, get_signal, open_signal, reassign
from services.signals import list_signals as signals_list
from services.tasks import add_task
from services.visibility import check_account_in_body
from services.users import mark_unowned_signals

router = APIRouter(prefix="/api/v1/signals", tags=["signals"], responses=ERROR_RESPONSES)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SignalCreated,
    responses={200: {"model": SignalCreated, "description": "The dedup_key was seen: the existing signal"}},
)
async def create_signal(body: SignalIn, request: Request, response: Response, session: AsyncSessionDep,
                        client: TemporalDep, user: CurrentUser, cache: ReadCacheDep):
    """Route the signal to its owners, page them and start its SLA clock. A repeated dedup_key answers 200
    with the signal it first created. An account the caller may not see is an unknown account (422). While the
    worker is behind paging the signals already accepted (API_PAGING_BACKLOG), the request waits for it (bounded),
    then answers 503."""
    await in_session(session, check_account_in_body, user, body.account_id)
    async with paging_lag_for(request).slot() as backlog:
        created, is_new = await open_signal(session, client, body, created_by=user.id, cache=cache, key_namespace=CALLER_KEYS)
        if is_new:
            backlog.accepted(created.id)
    if not is_new:
        response.status_code = status.HTTP_200_OK
    return created


@router.get("", response_model=list[SignalSummary], responses=PAGED, description=(
    "Signals from the read model the workflows keep, on the accounts the caller may see, newest first." + PAGING_NOTE))
def list_signals(
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    status_: SignalStatus | None = Query(default=None, alias="status"),
    owner_id: QueryText = None,
    account_id: QueryText = None,
) -> list[SignalSummary]:
    page = signals_list(session, status_, owner_id, account_id, paging.page, viewer=user)
    page.items = mark_unowned_signals(session, page.items)  # a disabled owner's open signals need a new owner
    return paging.send(page)


@router.get("/{signal_id}", response_model=SignalDetail, dependencies=[sees("signal", "signal_id")])
async def read_signal(signal_id: PathId, session: AsyncSessionDep, client: TemporalDep, _: CurrentUser) -> SignalDetail:
    return await get_signal(session, client, signal_id)


@router.post("/{signal_id}/acknowledge", response_model=AcknowledgeResult, dependencies=[sees("signal", "signal_id")])
async def acknowledge_signal(signal_id: PathId, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> AcknowledgeResult:
    """Only an owner, or someone it has escalated to, may acknowledge; anyone else gets 403. The answer offers the
    best three task templates for the signal's family and the account's segment."""
    return await acknowledge(session, client, signal_id, await user.actor(session))


@router.post("/{signal_id}/tasks", status_code=status.HTTP_201_CREATED, response_model=Task, dependencies=[sees("signal", "signal_id")])
async def create_task(signal_id: PathId, body: TaskIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Task:
    """Turn an acknowledged signal into a task from a template (409 before acknowledgement). `owner_id` defaults to
    the caller when they own the signal, `due_at` to the template's `due` (the Renewal Save's: P7D), else a play's
    planned length, else the severity's (critical P1D, warning P3D, info P7D). A template with a play also starts that
    play for the account, linked to the signal and the task."""
    return await add_task(session, client, signal_id, body, await user.actor(session))


@router.post("/{signal_id}/reassign", response_model=SignalDetail, dependencies=[sees("signal", "signal_id")])
async def reassign_signal(
    signal_id: PathId, body: ReassignRequest, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser
) -> SignalDetail:
    """Hand the signal to someone else (an owner or their manager may); the new owner is paged and the SLA restarts."""
    return await reassign(session, client, signal_id, body, await user.actor(session))
