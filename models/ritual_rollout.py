"""The rituals' rollout (issue 16): one ritual switched on at a time, each tracked from its first week toward the
completion-rate target, and which one to switch on next."""

from datetime import datetime

from pydantic import BaseModel, Field

from models.rituals import WeekCompletion


class RitualRollout(BaseModel):
    ritual_key: str
    name: str
    kind: str
    enabled: bool
    enabled_since: datetime | None = Field(description="When the config version that switched it on (this time) was written")
    enabled_in_version: int | None = Field(description="That rituals config version")
    weeks: list[WeekCompletion] = Field(description="Each ISO week since enabled_since, oldest first")
    completion_rate_pct: float | None = Field(description="On time ÷ judged over those weeks; null when nothing is due yet")
    weeks_at_target: int = Field(description="The latest judged weeks running at or above the target")
    sticks: bool = Field(description="At or above the target for `stick_weeks` judged weeks running")


class RolloutView(BaseModel):
    as_of: datetime
    target_pct: float
    stick_weeks: int
    order: list[str] = Field(description="The order rituals are switched on in, by kind")
    rituals: list[RitualRollout]
    next_to_enable: str | None = Field(description="The ritual to switch on next, when the enabled ones all stick")
    next_reason: str
