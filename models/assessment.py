"""The Phase-2 self-assessment: fifteen yes/no questions, each answered from Pillar's data with the figure behind it."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class AssessmentAnswer(BaseModel):
    id: str
    question: str
    answer: Literal["yes", "no"]
    figure: str = Field(description="The number behind the answer, in words")
    value: float | None = Field(default=None, description="The figure as a number (a percentage or a count)")
    numerator: int | None = None
    denominator: int | None = None


class AssessmentGroup(BaseModel):
    key: str
    title: str
    questions: list[AssessmentAnswer]


class Assessment(BaseModel):
    as_of: datetime
    yes: int
    total: int
    summary: str
    rule: str = Field(description="How a question is answered when there is nothing to judge")
    groups: list[AssessmentGroup]
