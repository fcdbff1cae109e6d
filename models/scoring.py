"""Scores (Layer II): explainable components, the weights config they come from, and what an account's facts are."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated
from pydantic import BaseModel, Field, model_validator

from models.common import Key, Points, PositiveDuration


class RiskTier(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


TIER_RANK = {RiskTier.low: 1, RiskTier.medium: 2, RiskTier.high: 3, RiskTier.critical: 4}


class HealthWeights(BaseModel):
    base: Points = 70
    usage_points_per_pct: Points = Field(0.4, description="points per % change in usage, recent week vs the 30 days before")
    usage_cap: Points = Field(25, ge=0)
    champion_departed: Points = -12
    nps_neutral: Points = Field(7, ge=0, le=10)
    nps_points_per_step: Points = 2
    tickets_points_per_multiple: Points = Field(-4, description="points per extra multiple of the prior 30 days' tickets")
    tickets_cap: Points = Field(16, ge=0)
    inactivity_grace_days: Points = Field(14, ge=0)
    inactivity_points_per_day: Points = -0.5
    inactivity_cap: Points = Field(20, ge=0)


class RiskWeights(BaseModel):
    health_gap: Points = Field(1.0, description="points per point of health below 100")
    renewal_window_days: int = Field(90, ge=0, le=3650)
    renewal_window_points: Points = 10
    detractor_below: int = Field(7, ge=0, le=10, description="latest NPS under this is a detractor")
    detractor_points: Points = 8
    tiers: dict[RiskTier, Points] = Field(
        default={RiskTier.medium: 40, RiskTier.high: 60, RiskTier.critical: 75},
        description="lowest renewal-risk score of each tier above low",
    )

    @model_validator(mode="after")
    def _ordered_tiers(self) -> "RiskWeights":
        bounds = [self.tiers.get(t) for t in (RiskTier.medium, RiskTier.high, RiskTier.critical)]
        if None in bounds or bounds != sorted(bounds):
            raise ValueError("tiers needs medium ≤ high ≤ critical thresholds")
        return self

    def tier(self, score: float) -> RiskTier:
        for tier in (RiskTier.critical, RiskTier.high, RiskTier.medium):
            if score >= self.tiers[tier]:
                return tier
        return RiskTier.low


class ForecastWeights(BaseModel):
    stage_probability: Annotated[dict[Key, Points], Field(max_length=50)] = {
        "prospecting": 10, "qualification": 20, "proposal": 40, "negotiation": 60, "commit": 85,
        "closed_won": 100, "closed_lost": 0,
    }
    renewal_without_opportunity: Points = Field(80, description="a renewal nobody has opened an opportunity for yet")
    health_pivot: Points = 70
    health_points_per_point: Points = 1.0
    champion_departed: Points = -15
    detractor: Points = -8
    close_date_push: Points = -5
    stalled: Points = -10


class PipelineWeights(BaseModel):
    base: Points = 100
    stalled: Points = -30
    close_date_push: Points = -10
    missing_amount: Points = -10


class Windows(BaseModel):
    usage_recent: PositiveDuration = timedelta(days=7)
    usage_baseline: PositiveDuration = timedelta(days=30)
    tickets: PositiveDuration = timedelta(days=30)
    champion_lookback: PositiveDuration = timedelta(days=90)
    stall_after: PositiveDuration = timedelta(days=30)
    lookback: PositiveDuration = Field(timedelta(days=365), description="events older than this before the score's time are not read")


class ScoreWeightsIn(BaseModel):
    health: HealthWeights = HealthWeights()
    renewal_risk: RiskWeights = RiskWeights()
    forecast_confidence: ForecastWeights = ForecastWeights()
    pipeline_quality: PipelineWeights = PipelineWeights()
    windows: Windows = Windows()


class ScoreWeights(ScoreWeightsIn):
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None


class ScoreComponent(BaseModel):
    key: str
    label: str = Field(description="what this component says, in words")
    value: float | str | bool | None = Field(description="the measured input")
    weight: float
    contribution: float = Field(description="points this component adds to (or takes from) the score")
    evidence: list[str] = Field(default=[], description="ids of the events behind it")

    @property
    def moves(self) -> bool:
        """It moves the score by a whole point (halves round away from zero): what an explanation names."""
        return abs(self.contribution) >= 0.5


class Score(BaseModel):
    name: str
    value: float
    base: float
    components: list[ScoreComponent]
    explanation: str

    def moving(self) -> list[ScoreComponent]:
        """The components that move it, largest first; those that contribute nothing are left out of every explanation."""
        return sorted((c for c in self.components if c.moves), key=lambda c: -abs(c.contribution))


class RenewalRiskScore(Score):
    tier: RiskTier


class AccountScore(BaseModel):
    account_id: str
    as_of: datetime = Field(description="the time the score describes: the latest event it read")
    weights_version: int
    health: Score
    renewal_risk: RenewalRiskScore
    forecast_confidence: Score
    pipeline_quality: Score
    explanation: str


class ScorePoint(BaseModel):
    """One entry of an account's score history."""

    as_of: datetime
    computed_at: datetime
    weights_version: int
    health: float
    renewal_risk: float
    risk_tier: RiskTier
    forecast_confidence: float
    pipeline_quality: float


class Opportunity(BaseModel):
    id: str
    type: str
    stage: str
    amount: float | None = None
    close_date: str | None = None
    close_date_pushes: int = 0
    last_change_at: datetime
    stalled_days: float = 0
    evidence: list[str] = []

    @property
    def open(self) -> bool:
        return self.stage not in ("closed_won", "closed_lost")


class Facts(BaseModel):
    """What an account's events say at one moment; scores and detection read only this."""

    as_of: datetime
    usage_recent: float | None = None
    usage_baseline: float | None = None
    usage_change_pct: float | None = None
    usage_evidence: list[str] = []
    inactive_days: float | None = None
    inactivity_evidence: list[str] = []
    champion_departed: bool = False
    champion_evidence: list[str] = []
    nps_latest: int | None = None
    nps_previous: int | None = None
    nps_evidence: list[str] = []
    tickets_recent: int = 0
    tickets_prior: int = 0
    tickets_evidence: list[str] = []
    opportunities: list[Opportunity] = []
    program_adoption: dict[str, float] = {}
    program_evidence: dict[str, list[str]] = {}
    contact_programs: dict[str, list[str]] = Field(default={}, description="program → ids of events of contacts there now")
    contract_years: int | None = None
    contract_evidence: list[str] = []

    @property
    def nps_drop(self) -> int:
        if self.nps_latest is None or self.nps_previous is None:
            return 0
        return self.nps_previous - self.nps_latest

    @property
    def ticket_multiple(self) -> float:
        return self.tickets_recent / max(self.tickets_prior, 1)

    def open_opportunities(self) -> list[Opportunity]:
        return [o for o in self.opportunities if o.open]
