"""Paging from inside a workflow: an inbox row per user (idempotent), then webhook deliveries in the background."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.notifications import NotifyRequest, WebhookDelivery
    from workflows import metrics
    from workflows.activity_types import NotificationActivities

DB_ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=8,
)


async def page(
    user_ids: list[str], *, kind: str, subject_type: str, subject_id: str, text: str, key: str
) -> None:
    """Notify `user_ids`. `key` must be unique per page within the workflow (it makes retries harmless)."""
    request = notify_request(user_ids, kind=kind, subject_type=subject_type, subject_id=subject_id, text=text, key=key)
    if request is None:
        return
    deliveries = await workflow.execute_activity_method(NotificationActivities.record_notifications, request, **DB_ACTIVITY)
    deliver_in_background(deliveries)


def notify_request(
    user_ids: list[str], *, kind: str, subject_type: str, subject_id: str, text: str, key: str
) -> NotifyRequest | None:
    """The page's inbox rows to write (None when there is nobody to page)."""
    if kind == "escalation":
        metrics.escalation_fired(subject_type)
    if not user_ids:
        return None
    return NotifyRequest(
        key=f"{workflow.info().workflow_id}:{key}",
        user_ids=list(dict.fromkeys(user_ids)),
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        text=text,
        at=workflow.now(),
    )


def deliver_in_background(deliveries: list[WebhookDelivery]) -> None:
    for delivery in deliveries:
        asyncio.create_task(_deliver(delivery))


async def _deliver(delivery: WebhookDelivery) -> None:
    """Runs beside the workflow: a slow or dead webhook never holds up an escalation."""
    try:
        await workflow.execute_activity_method(
            NotificationActivities.deliver_webhook, delivery, start_to_close_timeout=timedelta(seconds=30), retry_policy=WEBHOOK_RETRY
        )
    except ActivityError:
        workflow.logger.warning("webhook %s gave up on notification %s", delivery.url, delivery.notification.id)
