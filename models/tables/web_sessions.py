from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class WebSessionRow(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random id; only its hash is stored, with the hash of the token the
    user signed in with, so a replaced or revoked token ends every session it opened."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(max_length=64, index=True)
    token_hash: str = Field(max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    flash: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
