"""Handoffs (seam 04): specs (versioned config), the handoff itself, its inputs and its audit trail. Pure Pydantic."""

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from models.common import Actor, Identifier, JsonObject, PositiveDuration, Role, is_filled, missing_fields
from models.routing import EscalationStep
from models.signals import AccountSnapshot

KIND_PATTERN = r"^[a-z][a-z0-9_]*$"
FIELD_PATTERN = r"^[a-z][a-z0-9_]*$"
GOVERNANCE_FAMILY = "handoff_governance_violation"
GOVERNANCE_SEVERITY = "warning"
OVERRIDE_ROLES = frozenset({Role.manager, Role.vp, Role.admin})


class TeamChange(BaseModel):
    role: Role = Field(description="On completion the receiver takes this role on the account team")


class HandoffSpec(BaseModel):
    kind: str = Field(pattern=KIND_PATTERN, max_length=64)
    required_fields: list[Annotated[str, Field(pattern=FIELD_PATTERN, max_length=64)]] = Field(min_length=1, max_length=50)
    sender_roles: list[Role] = Field(min_length=1, max_length=len(Role))
    receiver_roles: list[Role] = Field(min_length=1, max_length=len(Role))
    acceptance_sla: PositiveDuration
    escalation: list[EscalationStep] = Field(default=[], max_length=20)
    team_change: TeamChange | None = None

    @field_validator("required_fields")
    @classmethod
    def _field_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not re.match(FIELD_PATTERN, name)]
        if bad:
            raise ValueError(f"field names must be snake_case: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("a required field is listed twice")
        return value

    @field_validator("acceptance_sla")
    @classmethod
    def _positive_sla(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the acceptance SLA must be longer than zero")
        return value


class HandoffSpecsIn(BaseModel):
    specs: list[HandoffSpec] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_spec_per_kind(self) -> "HandoffSpecsIn":
        kinds = [spec.kind for spec in self.specs]
        twice = sorted({k for k in kinds if kinds.count(k) > 1})
        if twice:
            raise ValueError(f"two specs for kind {twice[0]!r}")
        return self

    def spec_for(self, kind: str) -> HandoffSpec | None:
        return next((s for s in self.specs if s.kind == kind), None)


class HandoffSpecs(HandoffSpecsIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


def filled_fields(fields: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in fields.items() if is_filled(value))


class HandoffStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    overridden = "overridden"


FINAL_STATUSES = frozenset({HandoffStatus.accepted, HandoffStatus.overridden})


class HandoffIn(BaseModel):
    kind: str = Field(pattern=KIND_PATTERN, max_length=64)
    account_id: Identifier
    to_user_id: Identifier
    fields: JsonObject = {}


class HandoffStart(BaseModel):
    """HandoffWorkflow's input: the spec is resolved once, here, and its version recorded."""

    id: str
    kind: str
    spec: HandoffSpec
    specs_version: int
    account: AccountSnapshot
    from_user_id: str
    to_user_id: str
    fields: dict[str, Any] = {}
    created_at: datetime


class Handoff(BaseModel):
    id: str
    workflow_id: str
    kind: str
    status: HandoffStatus
    account_id: str
    from_user_id: str
    to_user_id: str
    fields: dict[str, Any] = {}
    required_fields: list[str]
    missing_fields: list[str]
    specs_version: int
    created_at: datetime
    submitted_at: datetime | None = None
    acceptance_due_at: datetime | None = None
    escalation_level: int = 0
    escalated_to: list[str] = []
    completed_at: datetime | None = None
    completed_by: str | None = None
    rejection_reason: str | None = None
    override_reason: str | None = None
    governance_signal_id: str | None = None

    @classmethod
    def draft(cls, start: HandoffStart, workflow_id: str) -> "Handoff":
        return cls(
            id=start.id,
            workflow_id=workflow_id,
            kind=start.kind,
            status=HandoffStatus.draft,
            account_id=start.account.id,
            from_user_id=start.from_user_id,
            to_user_id=start.to_user_id,
            fields=start.fields,
            required_fields=start.spec.required_fields,
            missing_fields=missing_fields(start.spec.required_fields, start.fields),
            specs_version=start.specs_version,
            created_at=start.created_at,
        )


class FieldsPatch(BaseModel):
    fields: JsonObject = Field(min_length=1)


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class HandoffAction(BaseModel):
    """An update's input: who acts (resolved by the API, since validators cannot read the directory)."""

    actor: Actor
    fields: dict[str, Any] = {}
    reason: str | None = None


class AuditEntry(BaseModel):
    at: datetime
    actor_id: str | None
    action: str
    from_user_id: str
    to_user_id: str
    fields_transferred: list[str] = []
    detail: str = ""


class HandoffTransition(BaseModel):
    """Activity input: audit row number `seq` of the handoff, and the handoff as it stands after it."""

    seq: int
    entry: AuditEntry
    handoff: Handoff


class HandoffChange(BaseModel):
    """Activity input: audit row number `seq`, the handoff as it stands after it without its fields, and the fields
    this transition set (at creation and on a patch; each value travels in one save only)."""

    seq: int
    entry: AuditEntry
    handoff: Handoff
    fields: dict[str, Any] = {}


class TeamChangeRequest(BaseModel):
    account_id: str
    role: Role
    user_id: str


class GovernanceViolation(BaseModel):
    handoff_id: str
    kind: str
    account_id: str
    from_user_id: str
    to_user_id: str
    missing_fields: list[str]
    actor_id: str
    reason: str
