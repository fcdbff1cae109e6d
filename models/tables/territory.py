from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class TerritoryProposalRow(SQLModel, table=True):
    """A territory rebalance proposal (Layer III) and what became of it (proposed → approved/rejected); an approval
    moved the accounts' owners."""

    __tablename__ = "territory_proposals"

    id: str = Field(primary_key=True, max_length=80)
    status: str = Field(max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    created_by: str = Field(max_length=64)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
