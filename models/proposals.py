"""Agent proposals (issue 17): an act an AI agent asked for over MCP, waiting for a person to approve or reject it.
Pure Pydantic: the API, the MCP tools and the pages share these."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from models.common import Key

# Acts a user may let their agent perform without a second person (PUT /api/v1/me/agent-settings): cheap to undo,
# and each is still refused by the act's own validator when the user may not do it.
LOW_RISK_ACTS = ("acknowledge_signal",)

StatedReason = Annotated[str, Field(min_length=1, max_length=2000,
                                    description="Why the agent asks for this act: shown to whoever approves it")]


class ProposalStatus(StrEnum):
    pending = "pending"
    applied = "applied"  # approved, and the act ran
    rejected = "rejected"


class Proposal(BaseModel):
    id: str
    tool: str
    operation: str = Field(description="The API operation the act is, e.g. POST /api/v1/signals/{signal_id}/acknowledge")
    arguments: dict[str, Any]
    stated_reason: str
    agent: str = Field(description="The MCP client that asked (its declared name)")
    requested_by: str = Field(description="The user the agent acts for (whose token it holds)")
    account_id: str | None = None
    status: ProposalStatus
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    result: Any | None = Field(default=None, description="What the act answered, once applied")
    audit: str = Field(description="Proposed by agent X on behalf of Y, approved (or rejected) by Z")


class ProposalNote(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ProposalRejection(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class AgentSettings(BaseModel):
    auto_approve: list[Key] = Field(default=[], max_length=len(LOW_RISK_ACTS), description=(
        f"Acts the caller's agents may perform without approval; only low-risk ones: {', '.join(LOW_RISK_ACTS)}"))
