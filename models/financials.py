"""Decisions (Layer III): the cost model, an account's financials and the NRR scenario."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from models.common import Amount, Identifier, MAX_NUMBER, Share
from models.scoring import RiskTier


class CostItem(BaseModel):
    item: str = Field(min_length=1, max_length=100)
    cost: Amount


class CostModelIn(BaseModel):
    save_costs: dict[RiskTier, Annotated[list[CostItem], Field(max_length=20)]] = Field(
        default={
            RiskTier.critical: [CostItem(item="csm_escalation", cost=6000), CostItem(item="executive_engagement", cost=8000)],
            RiskTier.high: [CostItem(item="csm_escalation", cost=6000)],
            RiskTier.medium: [CostItem(item="csm_check_in", cost=1500)],
            RiskTier.low: [],
        },
        description="what a save costs at each renewal-risk tier",
    )
    replacement_cac_ratio: float = Field(
        0.30, ge=0, le=100, description="new-business CAC to win an equivalent account, as a share of its ARR"
    )
    churn_probability: dict[RiskTier, Share] = Field(
        default={RiskTier.low: 0.05, RiskTier.medium: 0.2, RiskTier.high: 0.5, RiskTier.critical: 0.8}
    )
    at_risk_tiers: list[RiskTier] = Field(default=[RiskTier.high, RiskTier.critical], max_length=len(RiskTier), description="tiers whose whole ARR is at risk")

    @model_validator(mode="after")
    def _every_tier(self) -> "CostModelIn":
        for name in ("save_costs", "churn_probability"):
            missing = [t.value for t in RiskTier if t not in getattr(self, name)]
            if missing:
                raise ValueError(f"{name} needs every tier; missing: {', '.join(missing)}")
        if any(not 0 <= p <= 1 for p in self.churn_probability.values()):
            raise ValueError("churn_probability values are between 0 and 1")
        return self


class CostModel(CostModelIn):
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None


class NrrScenarioIn(BaseModel):
    account_ids: list[Identifier] = Field(min_length=1, max_length=5000)
    expansion_arr: float = Field(0, ge=0, le=MAX_NUMBER, description="expansion expected across the book in the period")


class LostAccount(BaseModel):
    id: str
    arr: float
    risk_tier: RiskTier | None = None


class NrrScenario(BaseModel):
    starting_arr: float = Field(description="ARR of every account in the book")
    lost_arr: float
    expansion_arr: float
    nrr_baseline_pct: float = Field(description="NRR with no account lost")
    nrr_if_lost_pct: float
    nrr_impact_points: float = Field(description="percentage points of NRR the loss takes away")
    accounts: list[LostAccount]
    explanation: str


class Financials(BaseModel):
    account_id: str
    arr: float
    risk_tier: RiskTier
    renewal_risk: float
    score_as_of: datetime | None
    churn_probability: float
    arr_at_risk: float = Field(description="the whole ARR when the tier is an at-risk tier, else 0")
    expected_loss: float = Field(description="ARR × churn probability of the tier")
    cost_to_save: float
    save_items: list[CostItem]
    cost_to_replace: float
    recommendation: str
    nrr_impact: NrrScenario
    cost_model_version: int
    explanation: str
