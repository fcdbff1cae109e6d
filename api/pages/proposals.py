"""Proposals: the acts AI agents asked for over MCP, on the accounts the signed-in person may see, with Approve and
Reject. Approving runs the act as the approver, through the same checks and workflow update as the API. And the
flywheel's proposals to move score weights, with their evidence: revops and admin approve, reject or revert them."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.agent.calls import approve as run_approved
from api.agent.registry import ToolContext
from api.deps import AsyncSessionDep, ReadCacheDep, check_roles
from api.pages.web import PageUser, done, posted_form, refused, render_page
from core.db import in_session
from core.errors import PillarError
from core.paging import PageRequest
from models.common import Role
from models.flywheel import DecisionIn, ReasonIn
from models.flywheel import ProposalStatus as FlywheelStatus
from models.proposals import ProposalRejection, ProposalStatus
from services import flywheel, proposals

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


# --- the flywheel's proposals ------------------------------------------------------------------------------------

FLYWHEEL_DECIDERS = (Role.revops,)
FLYWHEEL_ACTIONS = {"approve": "approved", "reject": "rejected", "revert": "reverted"}


def flywheel_url(status: str | None) -> str:
    return f"/proposals/flywheel?status={status if status in FlywheelStatus.__members__ else 'proposed'}"


@router.get("/proposals/flywheel")
async def flywheel_page(request: Request, session: AsyncSessionDep, user: PageUser, status: str = "proposed") -> Response:
    status = status if status in FlywheelStatus.__members__ else "proposed"
    found = await in_session(session, flywheel.list_proposals, FlywheelStatus(status), None, PageRequest(limit=LIMIT))
    return await render_page(request, session, user, "flywheel.html", {
        "proposals": found.items, "status": status, "statuses": list(FlywheelStatus.__members__),
        "decides": user.role in (Role.admin, *FLYWHEEL_DECIDERS)})


@router.post("/proposals/flywheel/{proposal_id}/{action}")
async def decide_flywheel(proposal_id: str, action: str, request: Request, session: AsyncSessionDep, user: PageUser) -> Response:
    form = await posted_form(request, user)
    check_roles(user.principal, FLYWHEEL_DECIDERS, "deciding on a flywheel proposal")
    back = flywheel_url(form.get("status"))
    if action not in FLYWHEEL_ACTIONS:
        raise PillarError("not_found", f"a flywheel proposal can be approved, rejected or reverted, not {action!r}")
    text = form.get("note" if action == "approve" else "reason", "").strip()
    try:
        if action == "approve":
            note = DecisionIn(note=text or None).note
            proposal = await in_session(session, flywheel.approve, proposal_id, user.id, note)
        else:
            reason = ReasonIn(reason=text).reason
            proposal = await in_session(session, getattr(flywheel, action), proposal_id, user.id, reason)
    except ValidationError:
        why = "say why, in up to 2,000 characters: it is kept with the proposal's history"
        return await refused(session, user, PillarError("invalid", why), back, f"flywheel-{proposal_id}", form)
    except PillarError as error:
        return await refused(session, user, error, back, f"flywheel-{proposal_id}", form)
    written = proposal.applied_version if action == "approve" else proposal.reverted_version
    wrote = f": score weights version {written} is in force" if written else ""
    return await done(session, user, f"Flywheel proposal {FLYWHEEL_ACTIONS[action]}{wrote}.", back)
