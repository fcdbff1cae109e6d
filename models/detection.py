"""Signal definitions (Layer I): family, conditions, severity, dedup window and per-motion thresholds, as versioned config."""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from models.common import Identifier, Instant, Number, PositiveDuration, Severity
from models.routing import FAMILY_PATTERN


class Metric(StrEnum):
    """What a condition can test. Each is computed from the account's events and scores at one moment."""

    inactive_days = "inactive_days"
    usage_change_pct = "usage_change_pct"
    champion_departed = "champion_departed"
    nps_latest = "nps_latest"
    nps_drop = "nps_drop"
    ticket_multiple = "ticket_multiple"
    health = "health"
    renewal_risk_score = "renewal_risk_score"
    renewal_risk_tier_rank = "renewal_risk_tier_rank"
    forecast_confidence = "forecast_confidence"
    pipeline_quality = "pipeline_quality"
    stalled_deals = "stalled_deals"
    close_date_pushes = "close_date_pushes"
    adjacent_program_present = "adjacent_program_present"
    program_adoption_pct = "program_adoption_pct"
    contract_years = "contract_years"
    active_risk_signals = "active_risk_signals"


class Op(StrEnum):
    gte = "gte"
    gt = "gt"
    lte = "lte"
    lt = "lt"
    eq = "eq"


class Condition(BaseModel):
    metric: Metric
    op: Op
    value: Number

    def holds(self, measured: float | None, threshold: float | None = None) -> bool:
        if measured is None:
            return False
        limit = self.value if threshold is None else threshold
        return {
            Op.gte: measured >= limit, Op.gt: measured > limit, Op.lte: measured <= limit,
            Op.lt: measured < limit, Op.eq: measured == limit,
        }[self.op]


class SignalDefinition(BaseModel):
    family: str = Field(pattern=FAMILY_PATTERN, max_length=64)
    severity: Severity
    description: str = Field(min_length=1, max_length=500)
    conditions: list[Condition] = Field(min_length=1, max_length=20, description="all must hold")
    dedup_window: PositiveDuration = Field(description="the same condition on the same account fires once per window")
    motion_overrides: dict[Identifier, dict[Metric, Number]] = Field(
        default={}, max_length=50, description="motion → {metric: threshold}: replaces the threshold of that metric's condition"
    )
    phase_overrides: dict[Identifier, dict[Metric, Number]] = Field(
        default={}, max_length=50, description=(
            "calendar phase → {metric: threshold}: while the account is in that phase (its account calendars), it "
            "replaces the motion's threshold; the first phase listed that the account is in wins"))
    quiet_phases: list[Identifier] = Field(default=[], max_length=50,
                                           description="calendar phases in which the definition does not fire")
    play_key: str | None = Field(default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="the play its owner is pointed to")

    @field_validator("dedup_window")
    @classmethod
    def _positive_window(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the dedup window must be longer than zero")
        return value

    @model_validator(mode="after")
    def _overrides_name_conditions(self) -> "SignalDefinition":
        metrics = {c.metric for c in self.conditions}
        for where, overrides in (("motion", self.motion_overrides), ("phase", self.phase_overrides)):
            for name, thresholds in overrides.items():
                stray = sorted(m.value for m in thresholds if m not in metrics)
                if stray:
                    raise ValueError(f"{self.family}: override for {where} {name!r} names metric(s) without a condition: "
                                     f"{', '.join(stray)}")
        return self

    def threshold(self, condition: Condition, motion: str | None, phases: frozenset[str] = frozenset()) -> float:
        """The account's phase's threshold, else its motion's, else the condition's own."""
        for phase, thresholds in self.phase_overrides.items():
            if phase in phases and condition.metric in thresholds:
                return thresholds[condition.metric]
        return self.motion_overrides.get(motion or "", {}).get(condition.metric, condition.value)

    def quiet_in(self, phases: frozenset[str]) -> bool:
        return any(p in phases for p in self.quiet_phases)


class CrossSell(BaseModel):
    """The programs the cross-sell watermark compares: adoption of `from_program`, contacts in an adjacent one."""

    from_program: Identifier = "motion_a"
    adjacent_programs: list[Identifier] = Field(default=["motion_b"], min_length=1, max_length=50)


class SignalDefinitionsIn(BaseModel):
    definitions: list[SignalDefinition] = Field(min_length=1, max_length=200)
    risk_families: list[Annotated[str, Field(pattern=FAMILY_PATTERN, max_length=64)]] = Field(
        max_length=200,
        default=["renewal_risk", "champion_departed", "adoption_decay", "nps_decline"],
        description="families that count as an active risk (the cross-sell watermark needs none)",
    )
    cross_sell: CrossSell = CrossSell()

    @model_validator(mode="after")
    def _one_definition_per_family(self) -> "SignalDefinitionsIn":
        families = [d.family for d in self.definitions]
        twice = sorted({f for f in families if families.count(f) > 1})
        if twice:
            raise ValueError(f"two definitions for family {', '.join(twice)}")
        return self


class SignalDefinitions(SignalDefinitionsIn):
    version: int = 0
    created_at: datetime | None = None
    created_by: str | None = None


class Detection(BaseModel):
    """A definition that holds for an account: what to open, and why."""

    family: str
    severity: Severity
    account_id: str
    dedup_key: str
    window_start: datetime
    why: str = Field(default="", description="why it fired, in the scores' own words")
    measured: dict[str, float | None]
    thresholds: dict[str, float]
    evidence_event_ids: list[str]
    definitions_version: int
    play_key: str | None = None

    def evidence(self) -> dict[str, Any]:
        return {
            **({"why": self.why} if self.why else {}),
            "detected_by": f"signal_definitions v{self.definitions_version}",
            "measured": self.measured,
            "thresholds": self.thresholds,
            "event_ids": self.evidence_event_ids,
            "window_start": self.window_start.isoformat(),
            **({"play_key": self.play_key} if self.play_key else {}),
        }


class DetectionStatus(StrEnum):
    pending = "pending"
    opened = "opened"
    refused = "refused"


class DetectedSignal(BaseModel):
    family: str
    severity: Severity
    account_id: str
    dedup_key: str
    signal_id: str | None = None
    new: bool = False
    status: DetectionStatus = Field(default=DetectionStatus.opened, description=(
        "opened: its workflow runs; pending: kept with the events, it opens as soon as Temporal answers (the "
        "detection sweep retries every minute); refused: it cannot open as configured (see error)"))
    error: str | None = Field(default=None, description="why it is not open yet, or cannot open (e.g. no routing rule)")


class DetectionSweep(BaseModel):
    """One run of the detection sweep: open what is pending and, with `rescore`, rescore the book at `as_of` first
    (time-based conditions such as inactivity, which no new event triggers)."""

    rescore: bool = False
    as_of: Instant | None = None
    actor: str = "detection-sweep"


class SweepResult(BaseModel):
    accounts: int = 0
    opened: int = 0
    pending: int = 0
    refused: int = 0
    budget_plays: int = Field(default=0, description="Plays this sweep started ahead of a budget window")


class DetectionRunIn(BaseModel):
    account_ids: list[Identifier] | None = Field(default=None, max_length=5000, description="default: every account")
    as_of: Instant | None = Field(default=None, description="default: now")


class DetectionRunOut(BaseModel):
    as_of: datetime
    accounts: int
    signals: list[DetectedSignal]
