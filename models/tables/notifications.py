from datetime import datetime

from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notifications"

    id: str = Field(primary_key=True, max_length=200)
    user_id: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=64)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=200)
    text: str
