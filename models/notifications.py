"""Notifications: pages, escalations, overdue notices and handoff requests."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Notification(BaseModel):
    id: str
    at: datetime
    kind: str
    subject_type: str
    subject_id: str
    text: str
    # Only there when true (the contract's six fields otherwise): past the per-user page rate, in the inbox but not
    # sent to the webhook (activities/notifications.py write_notifications)
    suppressed: bool = Field(default=False, exclude_if=lambda value: not value,
                             description="Present and true only when past the per-user page rate: not sent to the webhook")


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
    """One page to one of a user's channels (the name is older than the channels: it was the webhook's alone)."""

    url: str  # the destination: a URL, or the address for `email`
    notification: Notification
    user_id: str | None = None  # whose webhook: its signing secret is theirs
    channel: Literal["webhook", "slack", "email"] = "webhook"
    deferred_until: datetime | None = None  # the user's quiet hours hold it back until then (workflows/paging.py)

