"""Notifications: pages, escalations, overdue notices and handoff requests."""

from datetime import datetime

from pydantic import BaseModel, Field


class Notification(BaseModel):
    id: str
    at: datetime
    kind: str
    subject_type: str
    subject_id: str
    text: str
    suppressed: bool = Field(default=False, description="Past the per-user page rate: in the inbox, not sent to the webhook")


class NotifyRequest(BaseModel):
    """Activity input. `key` makes the activity idempotent: one inbox row per (key, user)."""

    key: str
    user_ids: list[str]
    kind: str
    subject_type: str
    subject_id: str
    text: str
    at: datetime


class WebhookSecret(BaseModel):
    destination: str
    header: str
    secret: str


class WebhookDelivery(BaseModel):
    url: str
    notification: Notification
    user_id: str | None = None  # whose webhook: its signing secret is theirs

