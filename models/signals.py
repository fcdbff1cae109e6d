"""Signals (seam 01): contracts shared by the API, SignalWorkflow and its activities."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from models.calendars import BusinessHours
from models.common import Actor, Identifier, JsonObject, Severity, TimelineEntry
from models.notifications import NotifyRequest
from models.rotations import OwnerChoice
from models.routing import FAMILY_PATTERN, RoutingRule
from models.tasks import Task, TaskCandidate


class SignalStatus(StrEnum):
    open = "open"
    escalated = "escalated"
    acknowledged = "acknowledged"
    resolved = "resolved"


UNACKNOWLEDGED = (SignalStatus.open, SignalStatus.escalated)  # waiting on its owners (and whom it escalated to)


class SignalIn(BaseModel):
    family: str = Field(pattern=FAMILY_PATTERN, max_length=64)
    severity: Severity
    account_id: Identifier
    dedup_key: str | None = Field(default=None, min_length=1, max_length=200)
    evidence: JsonObject = {}


class SignalCreated(BaseModel):
    id: str
    workflow_id: str
    owners: list[str]
    sla_due_at: datetime
    routing_version: int


class AccountSnapshot(BaseModel):
    """The account as it was when the signal fired; the team resolves escalation roles."""

    id: str
    name: str
    arr: float
    motion: str | None = None
    segment: str | None = None
    team: dict[str, str] = {}


class SignalStart(BaseModel):
    """SignalWorkflow's input: everything config-dependent is resolved once, here, and recorded."""

    id: str
    family: str
    severity: Severity
    account: AccountSnapshot
    routing_version: int
    rule: RoutingRule
    owners: list[str]
    created_at: datetime
    sla_due_at: datetime
    evidence: dict[str, Any] = {}
    created_by: str | None = None
    dedup_key: str | None = None
    owner_choices: list[OwnerChoice] = []  # owners chosen from a rotation or a round robin, and why
    business_hours: BusinessHours | None = None  # the SLA counts wall time without it (issue 19)


class SignalHead(BaseModel):
    """A signal's own columns: what every save sends (its tasks, timeline and evidence travel on their own)."""

    id: str
    family: str
    severity: Severity
    account_id: str
    status: SignalStatus
    owners: list[str]
    acknowledged_by: str | None = None
    escalation_level: int = 0
    escalated_to: list[str] = []
    sla_due_at: datetime
    routing_version: int
    created_at: datetime
    unowned: bool = Field(default=False, description="Not resolved, and every owner is disabled: it needs a new owner")


class SignalSummary(SignalHead):
    tasks: list[Task] = []


class SignalDetail(SignalSummary):
    evidence: dict[str, Any] = {}
    timeline: list[TimelineEntry] = []


class AcknowledgeInput(BaseModel):
    actor: Actor


class AcknowledgeResult(BaseModel):
    status: SignalStatus
    task_candidates: list[TaskCandidate] = []


class ReassignRequest(BaseModel):
    to_user_id: Identifier
    reason: str = Field(min_length=1, max_length=2000)


class ReassignInput(ReassignRequest):
    actor: Actor


class EscalationTargetRequest(BaseModel):
    """Activity input: resolve an escalation level's `to` into users, against the directory as it is now."""

    to: str
    account_team: dict[str, str]
    current_owner_ids: list[str]


class SignalPage(BaseModel):
    """Activity input: a signal's page and the read-model revision it makes, written in one transaction."""

    notify: NotifyRequest
    revision: int
    signal: SignalDetail


# Caps that keep one signal's workflow history and read model bounded (issue 14)
MAX_TASKS = 50
MAX_REASSIGNMENTS = 20


class SignalChange(BaseModel):
    """Activity input: one change of a signal, its size independent of the signal's age: the row's columns, the
    timeline entries added since the last save (`timeline_from` is the first one's seq), the task that changed (at
    its own revision), and the evidence on the first save only."""

    revision: int
    signal: SignalHead
    timeline_from: int = 0
    timeline: list[TimelineEntry] = []
    task: Task | None = None
    task_revision: int = 0
    evidence: dict[str, Any] | None = None


class SignalPageChange(BaseModel):
    """Activity input: a signal's page and the change that records it, written in one transaction."""

    notify: NotifyRequest
    change: SignalChange
