"""Territory decisions (Layer III): the territory's health now, rebalance proposals (generate, read, approve,
reject) and SE and executive allocations for the critical saves."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.deps import CurrentUser, PathId, Principal, SessionDep, require_roles
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from models.common import Identifier, Role
from models.territory import (
    Allocation, RebalanceIn, TerritoryDecisionIn, TerritoryHealth, TerritoryProposal, TerritoryProposalStatus, TerritoryRejectIn,
)
from services import territory

router = APIRouter(prefix="/api/v1/territory", tags=["territory"], responses=ERROR_RESPONSES)

Planner = Annotated[Principal, Depends(require_roles(Role.manager, Role.vp, Role.cro, Role.revops))]
Decider = Annotated[Principal, Depends(require_roles(Role.vp, Role.cro, Role.revops))]


@router.get("", response_model=TerritoryHealth)
def get_territory(session: SessionDep, user: CurrentUser,
                  manager_id: Identifier | None = Query(default=None, description="Only the owners reporting to this manager")) -> TerritoryHealth:
    """Each owner's book computed now from the latest scores: accounts, ARR, ARR at risk, critical accounts, health,
    running plays, load against capacity (territory settings at /config/territory), coverage, and whether risk
    concentrates on one owner. Book-wide roles see every account; anyone else the accounts they may see."""
    return territory.territory_health(session, user, manager_id)


@router.get("/allocations", response_model=list[Allocation])
def get_allocations(session: SessionDep, user: CurrentUser) -> list[Allocation]:
    """For each critical account the caller may see, biggest first: the SE with the fewest critical saves so far and an
    executive sponsor (the CRO at or above the settings' executive_arr, else the VP), and why."""
    return territory.allocations(session, user)


@router.post("/rebalance", status_code=status.HTTP_201_CREATED, response_model=TerritoryProposal)
def rebalance(session: SessionDep, user: Planner, body: RebalanceIn | None = None) -> TerritoryProposal:
    """Propose a rebalance (manager, vp, cro, revops): when one owner holds more than the settings' share of the ARR
    at risk, their healthy accounts move, smallest first, to the owners with the most room; the saves stay. 409 when
    risk does not concentrate or nobody has room."""
    return territory.propose(session, user.id, body.manager_id if body else None)


@router.get("/proposals", response_model=list[TerritoryProposal], responses=PAGED, description=(
    "Newest first, each with its moves, why, and the expected effect on each owner's load." + PAGING_NOTE))
def list_proposals(session: SessionDep, _: Planner, paging: PagingDep,
                   status_: TerritoryProposalStatus | None = Query(default=None, alias="status")) -> list[TerritoryProposal]:
    return paging.send(territory.list_proposals(session, status_, paging.page))


@router.get("/proposals/{proposal_id}", response_model=TerritoryProposal)
def get_proposal(proposal_id: PathId, session: SessionDep, _: Planner) -> TerritoryProposal:
    return territory.get_proposal(session, proposal_id)


@router.post("/proposals/{proposal_id}/approve", response_model=TerritoryProposal)
def approve(proposal_id: PathId, session: SessionDep, user: Decider, body: TerritoryDecisionIn | None = None) -> TerritoryProposal:
    """Move every account to its proposed owner (vp, cro, revops), or none: an account whose owner changed since is a 409."""
    return territory.approve(session, proposal_id, user.id, body.note if body else None)


@router.post("/proposals/{proposal_id}/reject", response_model=TerritoryProposal)
def reject(proposal_id: PathId, body: TerritoryRejectIn, session: SessionDep, user: Decider) -> TerritoryProposal:
    """Record the rejection and why (vp, cro, revops); no account moves."""
    return territory.reject(session, proposal_id, user.id, body.reason)
