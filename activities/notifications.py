"""Paging: inbox rows (idempotent per key and user) and webhook deliveries."""

import httpx
from sqlmodel import Session, select
from temporalio import activity

from core.db import session_scope
from core.settings import get_settings
from models.notifications import Notification, NotifyRequest, WebhookDelivery
from models.tables import NotificationRow, User


@activity.defn
def record_notifications(request: NotifyRequest) -> list[WebhookDelivery]:
    """Write one inbox row per user; a retry finds the rows already there and writes nothing twice."""
    with session_scope() as session:
        deliveries, written = write_notifications(session, request)
    count_pages(request, written)
    return deliveries


def write_notifications(session: Session, request: NotifyRequest) -> tuple[list[WebhookDelivery], int]:
    """The inbox rows this page still lacks, and the webhook deliveries it makes; how many rows were new."""
    deliveries: list[WebhookDelivery] = []
    written = 0
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(request.user_ids)))}
    for user_id in request.user_ids:
        row_id = f"{request.key}:{user_id}"
        row = session.get(NotificationRow, row_id)
        if row is None:
            row = NotificationRow(
                id=row_id,
                user_id=user_id,
                at=request.at,
                kind=request.kind,
                subject_type=request.subject_type,
                subject_id=request.subject_id,
                text=request.text,
            )
            session.add(row)
            written += 1
        user = users.get(user_id)
        if user and user.webhook_url:
            deliveries.append(
                WebhookDelivery(url=user.webhook_url, notification=Notification.model_validate(row, from_attributes=True))
            )
    return deliveries, written


def count_pages(request: NotifyRequest, written: int) -> None:
    """Counted once committed, and only rows this attempt wrote: a retried page is not counted twice."""
    pages_sent = activity.metric_meter().create_counter("pillar_pages_sent", "Notifications recorded (inbox rows)")
    pages_sent.add(written, {"kind": request.kind, "subject_type": request.subject_type})


@activity.defn
async def deliver_webhook(delivery: WebhookDelivery) -> None:
    """POST the notification as JSON; any non-2xx answer raises, so Temporal retries with backoff."""
    timeout = get_settings().webhook_timeout_seconds
    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.post(
            delivery.url,
            content=delivery.notification.model_dump_json(),
            headers={"Content-Type": "application/json", "Idempotency-Key": delivery.notification.id},
        )
        response.raise_for_status()
