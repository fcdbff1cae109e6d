"""The task-template library (seam 02): what an acknowledged signal can turn into, by signal family and segment."""

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from models.common import Duration, PositiveDuration, Severity
from models.plays import KEY_PATTERN
from models.routing import FAMILY_PATTERN

DUE_BY_SEVERITY = {Severity.critical: timedelta(days=1), Severity.warning: timedelta(days=3), Severity.info: timedelta(days=7)}


class TaskTemplate(BaseModel):
    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    family: str = Field(pattern=FAMILY_PATTERN, max_length=64)
    segments: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default=[], max_length=20, description="Account segments it suits best; empty: any segment")
    play_key: str | None = Field(default=None, pattern=KEY_PATTERN, max_length=64, description="Choosing it also starts this play for the account")
    due: PositiveDuration | None = Field(default=None, description="The task's deadline from when it is chosen; none: the play's planned "
                                                                    "length for a play, else the severity's (critical P1D, warning P3D, info P7D)")

    def due_in(self, severity: Severity, play_length: timedelta | None = None) -> timedelta:
        """One rule for the deadline the candidate shows and the task gets."""
        return self.due or play_length or due_after(severity)


class TaskTemplatesIn(BaseModel):
    escalate_after: Duration = Field(default=timedelta(days=1), description="From an overdue task to its owner's manager")
    templates: list[TaskTemplate] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _unique_keys(self) -> "TaskTemplatesIn":
        keys = [t.key for t in self.templates]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"template key(s) used twice: {', '.join(twice)}")
        return self

    def candidates(self, family: str, segment: str | None, limit: int = 3) -> list[TaskTemplate]:
        """Templates made for the segment first, then the family's generic ones, in library order."""
        mine = [t for t in self.templates if t.family == family]
        fitted = [t for t in mine if segment and segment in t.segments]
        generic = [t for t in mine if not t.segments]
        return (fitted + generic)[:limit]

    def template(self, key: str) -> TaskTemplate | None:
        return next((t for t in self.templates if t.key == key), None)


class TaskTemplates(TaskTemplatesIn):
    version: int
    created_at: datetime | None = None


def due_after(severity: Severity) -> timedelta:
    return DUE_BY_SEVERITY[severity]
