from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class ConfigVersion(SQLModel, table=True):
    """Every editable config (routing matrix, templates, play library, handoff specs, thresholds), versioned.

    A PUT appends a row with the next version for its `kind`; rows are never updated.
    """

    __tablename__ = "config_versions"

    kind: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, max_length=64)
