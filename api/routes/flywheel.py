"""The flywheel's proposals: read them, approve (a new score-weights version), reject, revert; run it now."""

from fastapi import APIRouter, Query, status

from api.deps import ConfigEditor, CurrentUser, MAX_VERSION, PathId, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from models.flywheel import DecisionIn, FlywheelProposal, FlywheelRunStarted, ProposalStatus, ReasonIn
from services import flywheel

router = APIRouter(prefix="/api/v1/flywheel", tags=["flywheel"], responses=ERROR_RESPONSES)


@router.get("/proposals", response_model=list[FlywheelProposal], responses=PAGED, description=(
    "Newest first, each with its changes, the evidence (outcomes by risk tier, health components in losses vs "
    "saves) and its history: who decided, when, and which score-weights version it wrote." + PAGING_NOTE))
def list_proposals(session: SessionDep, _: CurrentUser, paging: PagingDep,
                   status_: ProposalStatus | None = Query(default=None, alias="status"),
                   config_version: int | None = Query(default=None, ge=1, le=MAX_VERSION, description="The proposal that wrote (or reverted) this score-weights version"),
                   ) -> list[FlywheelProposal]:
    return paging.send(flywheel.list_proposals(session, status_, config_version, paging.page))


@router.get("/proposals/{proposal_id}", response_model=FlywheelProposal)
def get_proposal(proposal_id: PathId, session: SessionDep, _: CurrentUser) -> FlywheelProposal:
    return flywheel.get_proposal(session, proposal_id)


@router.post("/proposals/{proposal_id}/approve", response_model=FlywheelProposal)
def approve(proposal_id: PathId, session: SessionDep, editor: ConfigEditor, body: DecisionIn | None = None) -> FlywheelProposal:
    """Write the changes as the next score-weights version (revops, admin); rescoring uses it from then on. A
    proposal made against weights that have since moved is refused (409)."""
    return flywheel.approve(session, proposal_id, editor.id, body.note if body else None)


@router.post("/proposals/{proposal_id}/reject", response_model=FlywheelProposal)
def reject(proposal_id: PathId, body: ReasonIn, session: SessionDep, editor: ConfigEditor) -> FlywheelProposal:
    """Record the rejection and why (revops, admin); nothing else changes."""
    return flywheel.reject(session, proposal_id, editor.id, body.reason)


@router.post("/proposals/{proposal_id}/revert", response_model=FlywheelProposal)
def revert(proposal_id: PathId, body: ReasonIn, session: SessionDep, editor: ConfigEditor) -> FlywheelProposal:
    """Undo an approved proposal with a newer score-weights version that puts its values back (revops, admin)."""
    return flywheel.revert(session, proposal_id, editor.id, body.reason)


@router.post("/run", status_code=status.HTTP_202_ACCEPTED, response_model=FlywheelRunStarted)
async def run_now(client: TemporalDep, _: ConfigEditor) -> FlywheelRunStarted:
    """Run the flywheel now, outside its monthly schedule (revops, admin): the proposal appears under /proposals."""
    return await flywheel.run_now(client)
