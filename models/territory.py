"""Territory decisions (Layer III): each owner's book as it stands (ARR at risk, coverage, capacity), a rebalance
proposed when risk concentrates on one owner (which accounts move to whom, why, the expected effect), approved or
rejected like a flywheel proposal, and SE and executive allocations for the critical saves."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from models.common import Amount, Identifier, Role, Share
from models.scoring import RiskTier


class TerritorySettings(BaseModel):
    owner_role: Role = Field(Role.csm, description="Whose books the territories are: the account-team role that owns them")
    capacity_units: int = Field(20, ge=1, le=10_000, description="What one owner can carry, in load units")
    save_units: int = Field(3, ge=1, le=100, description="Load units an at-risk account costs (a healthy one costs 1)")
    concentration_share: Share = Field(0.5, description="Risk concentrates when one owner holds more than this share of the ARR at risk")
    executive_arr: Amount = Field(100_000, description="A critical save on an account with this ARR or more gets the CRO, else the VP")


class TerritoryConfig(TerritorySettings):
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None


class OwnerTerritory(BaseModel):
    owner_id: str
    name: str | None = None
    accounts: int
    arr: float
    at_risk_accounts: int
    arr_at_risk: float
    critical_accounts: int
    health: float | None = Field(description="ARR-weighted mean health of the scored accounts")
    running_plays: int
    load_units: int = Field(description="1 per healthy account, save_units per account at risk")
    capacity_pct: float = Field(description="load_units of capacity_units, in %")
    at_risk_share_pct: float = Field(description="This owner's share of the territory's ARR at risk, in %")


class TerritoryHealth(BaseModel):
    as_of: datetime
    owner_role: Role
    book_arr: float
    arr_at_risk: float
    accounts: int
    coverage_pct: float | None = Field(description="Accounts with an owner in owner_role, in %")
    unowned: list[str] = Field(description="Accounts nobody in owner_role owns")
    unscored: int
    owners: list[OwnerTerritory]
    concentrated_on: str | None = Field(description="The owner the risk concentrates on, when it does")
    explanation: str


class TerritoryMove(BaseModel):
    account_id: str
    account_name: str
    arr: float
    risk_tier: RiskTier | None
    from_owner: str
    to_owner: str
    why: str


class TerritoryEffect(BaseModel):
    owner_id: str
    load_before: int
    load_after: int
    capacity_pct_before: float
    capacity_pct_after: float


class TerritoryProposalStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"


class RebalanceIn(BaseModel):
    manager_id: Identifier | None = Field(default=None, description="Only the owners reporting (at any depth) to this manager; default every owner")


class TerritoryDecisionIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class TerritoryRejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class TerritoryProposal(BaseModel):
    id: str
    status: TerritoryProposalStatus
    created_at: datetime
    created_by: str
    owner_role: Role
    concentrated_on: str
    summary: str
    moves: list[TerritoryMove]
    expected: list[TerritoryEffect] = Field(description="Each owner's load before and after the moves")
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class Allocation(BaseModel):
    account_id: str
    account_name: str
    arr: float
    renewal_risk: float
    se_id: str | None = Field(description="The SE with the fewest critical saves allocated so far (none when nobody holds the se role)")
    executive_id: str | None = Field(description="The CRO for accounts at or above executive_arr, else the VP")
    why: str
