"""Proposals: the acts AI agents asked for over MCP, on the accounts the signed-in person may see, with Approve and
Reject. Approving runs the act as the approver, through the same checks and workflow update as the API."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.agent.calls import approve as run_approved
from api.agent.registry import ToolContext
from api.deps import AsyncSessionDep, ReadCacheDep
from api.pages.web import PageUser, done, posted_form, refused, render_page
from core.db import in_session
from core.errors import PillarError
from core.paging import PageRequest
from models.proposals import ProposalRejection, ProposalStatus
from services import proposals

router = APIRouter(include_in_schema=False)
LIMIT = 100


def proposals_url(status: str | None) -> str:
    return f"/proposals?status={status if status in ProposalStatus.__members__ else 'pending'}"


@router.get("/proposals")
async def proposals_page(request: Request, session: AsyncSessionDep, user: PageUser, status: str = "pending") -> Response:
    status = status if status in ProposalStatus.__members__ else "pending"
    found = await in_session(session, proposals.list_proposals, user.principal, ProposalStatus(status), None, None,
                             PageRequest(limit=LIMIT))
    return await render_page(request, session, user, "proposals.html", {
        "proposals": found.items, "status": status, "statuses": list(ProposalStatus.__members__)})


@router.post("/proposals/{proposal_id}/approve")
async def approve(proposal_id: str, request: Request, session: AsyncSessionDep, user: PageUser, cache: ReadCacheDep) -> Response:
    form = await posted_form(request, user)
    back = proposals_url(form.get("status"))
    try:
        ctx = ToolContext(principal=user.principal, session=session, cache=cache)
        proposal = await run_approved(ctx, proposal_id, form.get("note", "").strip()[:2000] or None)
    except PillarError as error:
        return await refused(session, user, error, back, f"proposal-{proposal_id}", form)
    return await done(session, user, f"Approved: {proposal.tool.replace('_', ' ')} ran ({proposal.audit}).", back)


@router.post("/proposals/{proposal_id}/reject")
async def reject(proposal_id: str, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    form = await posted_form(request, user)
    back = proposals_url(form.get("status"))
    try:
        body = ProposalRejection(reason=form.get("reason", "").strip())
        proposal = await in_session(session, proposals.reject, user.principal, proposal_id, body.reason)
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "say why you reject it: the agent reads it"),
                             back, f"proposal-{proposal_id}", form)
    except PillarError as error:
        return await refused(session, user, error, back, f"proposal-{proposal_id}", form)
    return await done(session, user, f"Rejected ({proposal.audit}).", back)
