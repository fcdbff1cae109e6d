from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from api.deps import AsyncSessionDep, CurrentUser, PathId, QueryText, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from api.visibility import sees
from core.db import in_session
from core.errors import PillarError
from models.handoffs import AuditEntry, FieldsPatch, Handoff, HandoffAction, HandoffIn, HandoffStatus, ReasonBody
from services.handoffs import act_on, audit_trail, get_handoff, list_handoffs, start_handoff
from services.visibility import check_account_in_body
from workflows.handoff import HandoffWorkflow

router = APIRouter(prefix="/api/v1/handoffs", tags=["handoffs"], responses=ERROR_RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Handoff)
async def create_handoff(body: HandoffIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Handoff:
    """Open a draft handoff; the caller is the sender and must hold one of the kind's sender roles."""
    await in_session(session, check_account_in_body, user, body.account_id)
    return await start_handoff(session, client, body, user.id, user.role)


@router.get("", response_model=list[Handoff], responses=PAGED, description=(
    "Handoffs from the read model the workflows keep, on the accounts the caller may see, newest first." + PAGING_NOTE))
def read_handoffs(
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    status_: HandoffStatus | None = Query(default=None, alias="status"),
    account_id: QueryText = None,
    to_user_id: QueryText = None,
) -> list[Handoff]:
    return paging.send(list_handoffs(session, status_, account_id, to_user_id, paging.page, viewer=user))


@router.get("/{handoff_id}", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def read_handoff(handoff_id: PathId, session: AsyncSessionDep, client: TemporalDep, _: CurrentUser) -> Handoff:
    """The handoff with its transferred context (`fields`)."""
    return await get_handoff(session, client, handoff_id)


@router.patch("/{handoff_id}", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def patch_handoff(handoff_id: PathId, body: FieldsPatch, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Handoff:
    """Merge fields into a draft (sender only)."""
    action = HandoffAction(actor=await user.actor(session), fields=body.fields)
    return await act_on(session, client, handoff_id, HandoffWorkflow.patch, action)


@router.post("/{handoff_id}/submit", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def submit_handoff(handoff_id: PathId, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser):
    """The gate: every required field must carry content, else 422 with `missing_fields`. The receiver is paged."""
    try:
        return await act_on(session, client, handoff_id, HandoffWorkflow.submit, HandoffAction(actor=await user.actor(session)))
    except PillarError as error:
        if error.code != "invalid" or not isinstance(error.details, dict):
            raise
        body = {"error": {"code": error.code, "message": error.message, "details": error.details}, **error.details}
        return JSONResponse(body, status_code=error.status_code)


@router.post("/{handoff_id}/accept", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def accept_handoff(handoff_id: PathId, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Handoff:
    """Receiver only. Where the kind says so, the receiver takes their role on the account team."""
    return await act_on(session, client, handoff_id, HandoffWorkflow.accept, HandoffAction(actor=await user.actor(session)))


@router.post("/{handoff_id}/reject", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def reject_handoff(handoff_id: PathId, body: ReasonBody, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Handoff:
    """Receiver only: back to draft with the reason, and the sender is notified."""
    action = HandoffAction(actor=await user.actor(session), reason=body.reason)
    return await act_on(session, client, handoff_id, HandoffWorkflow.reject, action)


@router.post("/{handoff_id}/override", response_model=Handoff, dependencies=[sees("handoff", "handoff_id")])
async def override_handoff(handoff_id: PathId, body: ReasonBody, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Handoff:
    """A manager or vp of the sender or receiver (or admin) completes it without the gate; a
    handoff_governance_violation signal fires for the account with the missing fields as evidence."""
    action = HandoffAction(actor=await user.actor(session), reason=body.reason)
    return await act_on(session, client, handoff_id, HandoffWorkflow.override, action)


@router.get("/{handoff_id}/audit", response_model=list[AuditEntry], dependencies=[sees("handoff", "handoff_id")])
async def read_audit(handoff_id: PathId, session: AsyncSessionDep, client: TemporalDep, _: CurrentUser) -> list[AuditEntry]:
    """Every transition, oldest first. Append-only: there is no endpoint that changes or deletes it."""
    return await audit_trail(session, client, handoff_id)
