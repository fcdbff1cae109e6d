"""The flywheel: play and task outcomes, by the risk tier the account was in when the work started, turned into
governed proposals to change score thresholds and weights. Pure Pydantic (FlywheelWorkflow imports it)."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ProposalStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    reverted = "reverted"
    superseded = "superseded"
    no_change = "no_change"


class ProposalKind(StrEnum):
    """`weights`: the monthly run's threshold and weight changes; `observation`: a pattern a retro proposed for a
    standing decision (no score weights change: its approval records the decision)."""

    weights = "weights"
    observation = "observation"


class BandEvidence(BaseModel):
    tier: str = Field(description="Renewal-risk tier when the play or signal started; `unscored` when the account had no score")
    outcomes: int
    saved: int = Field(description="renewed or expanded")
    lost: int = Field(description="churned or lost")
    other: int = Field(description="reassigned: neither saved nor lost")
    save_rate_pct: float | None
    loss_rate_pct: float | None


class ComponentEvidence(BaseModel):
    component: str = Field(description="A health-score component, present when it took points away at the start")
    weight_path: str
    present_in_lost: int
    lost: int
    present_in_saved: int
    saved: int
    lift_pct: float = Field(description="share of losses it was present in, minus share of saves")


class ProposedChange(BaseModel):
    path: str = Field(description="Dotted path in the score weights, e.g. renewal_risk.tiers.critical")
    current: float
    proposed: float
    reason: str


class FlywheelEvidence(BaseModel):
    plays: int
    tasks: int
    bands: list[BandEvidence]
    components: list[ComponentEvidence]


class ProposalEvent(BaseModel):
    at: datetime
    actor_id: str | None
    action: str
    config_version: int | None = None
    note: str | None = None


class FlywheelProposal(BaseModel):
    id: str
    kind: ProposalKind = Field(default=ProposalKind.weights, description=ProposalKind.__doc__.replace("\n    ", " "))
    status: ProposalStatus
    created_at: datetime
    period_start: datetime
    period_end: datetime
    weights_version: int = Field(description="The score-weights version the proposal was computed against")
    summary: str
    changes: list[ProposedChange]
    evidence: FlywheelEvidence
    applied_version: int | None = Field(default=None, description="The score-weights version its approval wrote")
    reverted_version: int | None = Field(default=None, description="The score-weights version that undid it")
    decided_by: str | None = None
    decided_at: datetime | None = None
    workflow_id: str | None = None
    source: str | None = Field(default=None, description="observation: the retro agenda it was proposed at")
    history: list[ProposalEvent] = []


class FlywheelRun(BaseModel):
    """FlywheelWorkflow's input, fixed in its monthly schedule; `scheduled_at` for runs started by hand or by tests."""

    scheduled_at: datetime | None = None


class ObservationRequest(BaseModel):
    """A retro's pattern proposed to the flywheel (RitualWorkflow.record_decision)."""

    agenda_id: str
    actor_id: str
    at: datetime
    note: str | None = None


class ProposeRequest(BaseModel):
    as_of: datetime
    workflow_id: str


class ProposalCreated(BaseModel):
    id: str
    status: ProposalStatus
    notify: list[str] = Field(default=[], description="Who decides on it (revops), paged by the workflow")
    summary: str = ""


class DecisionIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class FlywheelRunStarted(BaseModel):
    workflow_id: str
