"""The routing matrix: signal family × severity → owner roles, SLA and escalation ladder."""

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator, model_validator

from models.calendars import SlaClock
from models.common import Duration, Identifier, PositiveDuration, Role, Severity
from models.rotations import ChosenOwner

MANAGER_OF_OWNER = "manager"
FAMILY_PATTERN = r"^[a-z][a-z0-9_]*$"


class EscalationStep(BaseModel):
    after: Duration = Field(description="Delay counted from the previous level (the SLA lapse for the first)")
    to: Role = Field(description="A role on the account team, or `manager`: the manager of whoever owns it now")


class RoutingRule(BaseModel):
    family: str = Field(pattern=FAMILY_PATTERN, max_length=64)
    severity: Severity
    owners: list[Role | ChosenOwner] = Field(min_length=1, max_length=len(Role))
    sla: PositiveDuration
    escalation: list[EscalationStep] = Field(default=[], max_length=20)
    # SLA clocks (issue 19): which clock the SLA and its escalation count on, a warning before the breach, a re-page
    # of an acknowledged signal nobody has made a task for. Absent (and left out of answers), a rule behaves as before.
    clock: SlaClock = Field(default=SlaClock.wall, exclude_if=lambda v: v == SlaClock.wall,
                            description="`business`: the SLA and escalation `after`s count working hours only, on "
                                        "the calendar named by `calendar`, else the first owner's (or their team's)")
    calendar: Identifier | None = Field(default=None, exclude_if=lambda v: v is None,
                                        description="A calendar name (GET /api/v1/config/calendars)")
    warn_at: float | None = Field(default=None, gt=0, lt=1, exclude_if=lambda v: v is None,
                                  description="Page the owners again (`sla_warning`, \"due in …\") when this fraction "
                                              "of the SLA has passed unacknowledged, e.g. 0.75")
    repage_after: PositiveDuration | None = Field(default=None, exclude_if=lambda v: v is None,
                                                  description="Acknowledged with no task for this long: the owners "
                                                              "are paged again, and as long again later their managers")

    @field_validator("sla")
    @classmethod
    def _positive_sla(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the SLA must be longer than zero")
        return value

    @field_validator("owners")
    @classmethod
    def _distinct_owners(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an owner role is listed twice")
        return value


class RoutingConfigIn(BaseModel):
    rules: list[RoutingRule] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_rule_per_family_and_severity(self) -> "RoutingConfigIn":
        seen: set[tuple[str, str]] = set()
        for rule in self.rules:
            key = (rule.family, rule.severity.value)
            if key in seen:
                raise ValueError(f"two rules for family {rule.family!r} and severity {rule.severity.value!r}")
            seen.add(key)
        return self

    def rule_for(self, family: str, severity: Severity) -> RoutingRule | None:
        return next((r for r in self.rules if r.family == family and r.severity == severity), None)


class RoutingConfig(RoutingConfigIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


class ConfigVersionRef(BaseModel):
    version: int
