"""Response analytics (issue 19 item 6): how fast signals are acknowledged, given a task and resolved, whether within
their SLA, and how often they escalate, grouped by family, severity, team, owner and week."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from models.common import TimelineEntry

# The first timeline entry of each type marks the moment the analytics measure to.
MARKS = {"acknowledged": "acknowledged_at", "task_added": "first_task_at", "resolved": "resolved_at"}


def response_marks(owners: list[str], timeline: list[TimelineEntry | dict[str, Any]]) -> dict[str, Any]:
    """A signal's response columns from its owners and whole timeline (the saves and the migration's backfill)."""
    marks: dict[str, Any] = {column: None for column in MARKS.values()}
    for entry in timeline:
        entry = entry if isinstance(entry, TimelineEntry) else TimelineEntry.model_validate(entry)
        column = MARKS.get(entry.type)
        if column and marks[column] is None:
            marks[column] = entry.at
    return {"owner_id": owners[0] if owners else None, **marks}


class Dimension(StrEnum):
    family = "family"
    severity = "severity"
    team = "team"
    owner = "owner"
    week = "week"


TEAM_DEFINITION = ("A signal's owner is whoever acknowledged it, else the first owner it was routed to; its team is "
                   "that owner's manager's team (`team` is the manager's id; an owner with no manager is their own team).")
SLA_DEFINITION = ("SLA compliance: the share of the signals whose SLA is decided (acknowledged, or past its due time) "
                  "that were acknowledged by sla_due_at. Escalation rate: the share that escalated at least once. "
                  "Median and p90 are nearest-rank percentiles, in seconds, over the signals that reached the mark.")


class ResponseGroup(BaseModel):
    family: str | None = None
    severity: str | None = None
    team: str | None = None
    owner: str | None = None
    week: date | None = Field(default=None, description="The Monday (UTC) the week of signals starts on")
    signals: int
    acknowledged: int
    time_to_acknowledge_median_s: float | None = None
    time_to_acknowledge_p90_s: float | None = None
    time_to_first_task_median_s: float | None = None
    time_to_first_task_p90_s: float | None = None
    time_to_resolution_median_s: float | None = None
    time_to_resolution_p90_s: float | None = None
    sla_decided: int = Field(description="Acknowledged, or past sla_due_at: the signals SLA compliance is judged on")
    sla_met: int
    sla_compliance_pct: float | None = None
    escalated: int
    escalation_rate_pct: float | None = None


class ResponseMetrics(BaseModel):
    since: datetime
    until: datetime
    weeks: int
    by: list[Dimension]
    team_definition: str = TEAM_DEFINITION
    definition: str = SLA_DEFINITION
    groups: list[ResponseGroup]
