"""Agent proposals (issue 17): the acts agents asked for over MCP, for a person to approve or reject; and each
user's agent settings (which low-risk acts need no approval)."""

from fastapi import APIRouter, Query

from api.agent.calls import approve as run_approved
from api.agent.registry import ToolContext
from api.deps import AsyncSessionDep, CurrentUser, PathId, QueryText, ReadCacheDep, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.db import in_session
from models.proposals import AgentSettings, Proposal, ProposalNote, ProposalRejection, ProposalStatus
from services import proposals

router = APIRouter(prefix="/api/v1", tags=["proposals"], responses=ERROR_RESPONSES)


@router.get("/proposals", response_model=list[Proposal], responses=PAGED, description=(
    "Acts agents proposed (over MCP) on the accounts the caller may see, and the caller's own, newest first: who "
    "asked, on whose behalf, the exact arguments, the agent's stated reason, the decision." + PAGING_NOTE))
def list_proposals(session: SessionDep, user: CurrentUser, paging: PagingDep,
                   status_: ProposalStatus | None = Query(default=None, alias="status"), account_id: QueryText = None,
                   requested_by: QueryText = None) -> list[Proposal]:
    return paging.send(proposals.list_proposals(session, user, status_, account_id, requested_by, paging.page))


@router.get("/proposals/{proposal_id}", response_model=Proposal)
def get_proposal(proposal_id: PathId, session: SessionDep, user: CurrentUser) -> Proposal:
    return proposals.get_proposal(session, user, proposal_id)


@router.post("/proposals/{proposal_id}/approve", response_model=Proposal)
async def approve_proposal(proposal_id: PathId, session: AsyncSessionDep, user: CurrentUser, cache: ReadCacheDep,
                           body: ProposalNote | None = None) -> Proposal:
    """Run the proposed act as the approver, through the same checks, update and validator as if they had asked for
    it themselves: the approver must be allowed to do it (403, 409 and 422 answer as the act does, and the proposal
    stays pending). The user the agent acts for cannot approve their own agent's proposal."""
    ctx = ToolContext(principal=user, session=session, cache=cache)
    return await run_approved(ctx, proposal_id, body.note if body else None)


@router.post("/proposals/{proposal_id}/reject", response_model=Proposal)
async def reject_proposal(proposal_id: PathId, body: ProposalRejection, session: AsyncSessionDep,
                          user: CurrentUser) -> Proposal:
    """Record the rejection and why; nothing else changes."""
    return await in_session(session, proposals.reject, user, proposal_id, body.reason)


@router.get("/me/agent-settings", response_model=AgentSettings, tags=["me"])
def get_agent_settings(session: SessionDep, user: CurrentUser) -> AgentSettings:
    return proposals.agent_settings(session, user.id)


@router.put("/me/agent-settings", response_model=AgentSettings, tags=["me"])
def put_agent_settings(body: AgentSettings, session: SessionDep, user: CurrentUser) -> AgentSettings:
    """Which low-risk acts your agents may perform without approval (each still refused when you may not do it)."""
    return proposals.put_agent_settings(session, user.id, body)
