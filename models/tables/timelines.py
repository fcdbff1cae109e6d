from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class TimelineRow(SQLModel, table=True):
    """A signal's or a play run's timeline, one row per entry, appended by its workflow's saves: each save carries
    only the entries added since the last one. (subject_id, seq) is an entry's key, so a retried or reordered save
    writes nothing twice (activities/timelines.py writes and reads them)."""

    __tablename__ = "timeline_entries"

    subject_id: str = Field(primary_key=True, max_length=220)
    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    type: str = Field(max_length=64)
    actor: str | None = Field(default=None, max_length=220)
    detail: str = Field(default="", sa_type=Text)
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (a reset run rewrites)
