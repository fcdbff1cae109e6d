"""Raw events (Layer I input): product usage, NPS responses, support tickets, CRM stage changes, contact changes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.common import Amount, Identifier, Instant


class EventKind(StrEnum):
    product_usage = "product_usage"
    nps_response = "nps_response"
    support_ticket = "support_ticket"
    crm_stage_change = "crm_stage_change"
    contact_change = "contact_change"


Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: Identifier
    occurred_at: Instant = Field(description="When it happened at the source (time-based conditions count from here)")
    external_id: Name | None = Field(default=None, description="The source system's id: the same id again is stored once")


class ProductUsageEvent(_Event):
    kind: Literal["product_usage"]
    active_users: int = Field(ge=0, le=10**9)
    seats: int | None = Field(default=None, ge=1, le=10**9)
    program: Identifier | None = Field(default=None, description="The product line (e.g. motion_a) the usage is for")


class NpsResponseEvent(_Event):
    kind: Literal["nps_response"]
    score: int = Field(ge=0, le=10)
    contact_id: Name | None = None
    comment: str | None = Field(default=None, max_length=4000)


class SupportTicketEvent(_Event):
    kind: Literal["support_ticket"]
    ticket_id: Name
    status: Literal["opened", "closed"] = "opened"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class CrmStageChangeEvent(_Event):
    kind: Literal["crm_stage_change"]
    opportunity_id: Name
    opportunity_type: Literal["new_business", "renewal", "expansion", "cross_sell"] = "renewal"
    stage: Literal["prospecting", "qualification", "proposal", "negotiation", "commit", "closed_won", "closed_lost"]
    amount: Amount | None = None
    close_date: date | None = None
    contract_years: int | None = Field(default=None, ge=1, le=10)


class ContactChangeEvent(_Event):
    kind: Literal["contact_change"]
    contact_id: Name
    role: Literal["champion", "economic_buyer", "admin", "user"]
    change: Literal["joined", "left", "role_changed"]
    program: Identifier | None = Field(default=None, description="The program the contact belongs to (adjacent programs)")


AccountEvent = Annotated[
    ProductUsageEvent | NpsResponseEvent | SupportTicketEvent | CrmStageChangeEvent | ContactChangeEvent,
    Field(discriminator="kind"),
]

MAX_BATCH = 1000


class EventBatch(BaseModel):
    events: list[AccountEvent] = Field(min_length=1, max_length=MAX_BATCH)


class StoredEvent(BaseModel):
    """An event as kept: its kind-specific fields are in `payload`."""

    id: str
    kind: EventKind
    account_id: str
    occurred_at: datetime
    received_at: datetime
    external_id: str | None = None
    payload: dict[str, Any] = {}


def payload_of(event: _Event) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude={"kind", "account_id", "occurred_at", "external_id"}, exclude_none=True)
