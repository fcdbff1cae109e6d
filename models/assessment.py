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
    no: int = Field(0, description="How many of its questions are answered no")


class PunchListEntry(BaseModel):
    group: str
    title: str
    no: int = Field(description="Its no's: the count the punch list ranks by")
    shortfall: int = Field(description="What those no's leave undone, in the things they count (ties are ranked by it)")
    questions: list[str] = Field(description="The ids of its no's, in order")
    first_fix: str = Field(description="Its first no, as the question puts it")


class Assessment(BaseModel):
    as_of: datetime
    yes: int
    total: int
    summary: str
    rule: str = Field(description="How a question is answered when there is nothing to judge")
    groups: list[AssessmentGroup]
    punch_list: list[PunchListEntry] = Field(default=[], description="Groups with a no, most operational debt first")
