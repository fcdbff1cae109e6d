from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_at", "user_id", "at"),)  # the per-user rate: one range read

    id: str = Field(primary_key=True, max_length=320)  # page key (workflow, run, page) and user
    user_id: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=64)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=200)
    text: str
    # Past PAGES_PER_USER_PER_MINUTE: kept in the inbox, marked, and not sent to the webhook (activities/notifications.py)
    suppressed: bool = Field(default=False)
