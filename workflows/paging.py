"""Paging from inside a workflow: an inbox row per user (idempotent), then deliveries to each user's other channels
(webhook, Slack, email) in the background, each held by a durable timer through the user's quiet hours."""

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.notifications import NotifyRequest, WebhookDelivery
    from workflows import metrics
    from workflows.activity_types import NotificationActivities

# Retried every second at most: with the default backoff (doubling up to a minute) a database back after a 20 s
# outage waited up to 16 s more for the next attempt, and every escalation due meanwhile fired that late; with 2 s,
# up to 2 s (tests/faults/). An attempt lost with a killed worker is retried after its timeout: these are single
# short transactions, so 10 s is ample where 30 s held an escalation's target look-up that long.
# Replay compares an activity's type and id, not its timeouts or retry policy: running executions replay unchanged.
DB_RETRY_CEILING = timedelta(seconds=1)
DB_ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_interval=DB_RETRY_CEILING),
)
# An escalation level's target look-up (one read) is what a due escalation waits on: lost with a killed worker, it
# is tried again 1.7 s after it started rather than 10 s (tests/faults: an escalation at most 2 s late after recovery).
LOOKUP_ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=1.5),
    retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=DB_RETRY_CEILING),
)
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=8,
)
# Longer than WEBHOOK_RETRY's eight attempts (backoff about 8.5 min, plus eight 30 s timeouts)
DELIVERY_WAIT = timedelta(minutes=15)
WAIT_FOR_DELIVERIES_PATCH = "workflow-waits-for-its-webhook-deliveries"
CHANNELS_PATCH = "page-deliveries-by-channel-after-quiet-hours"


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
        in_background(_deliver(delivery))


def in_background(delivery: Coroutine[Any, Any, None]) -> None:
    """Run a delivery beside the workflow (a slow receiver never holds up an escalation); `deliveries_finished` waits
    for it before the workflow completes."""
    _deliveries().append(asyncio.create_task(delivery))


def _deliveries() -> list[asyncio.Task]:
    """This workflow's webhook deliveries (kept on its instance: this module is shared by every workflow run)."""
    instance = workflow.instance()
    if not hasattr(instance, "_webhook_deliveries"):
        instance._webhook_deliveries = []
    return instance._webhook_deliveries


def _delivered() -> bool:
    return all(task.done() for task in _deliveries())


async def deliveries_finished() -> None:
    """Before a workflow completes: a completed workflow's pending activities are dropped, so its webhook deliveries
    (and their retries) get to finish first, for at most DELIVERY_WAIT past the end of the last quiet hours holding one."""
    if _delivered() or not workflow.patched(WAIT_FOR_DELIVERIES_PATCH):
        return
    held = max((until - workflow.now() for until in _held_until()), default=timedelta(0))
    try:
        await workflow.wait_condition(_delivered, timeout=DELIVERY_WAIT + max(held, timedelta(0)))
    except asyncio.TimeoutError:
        workflow.logger.warning("completing with webhook deliveries still retrying after %s", DELIVERY_WAIT)


def _held_until() -> list:
    """When this workflow's deliveries held back by quiet hours are due (kept on its instance, like the tasks)."""
    instance = workflow.instance()
    if not hasattr(instance, "_deliveries_held_until"):
        instance._deliveries_held_until = []
    return instance._deliveries_held_until


async def _deliver(delivery: WebhookDelivery) -> None:
    """Runs beside the workflow: a slow or dead channel never holds up an escalation."""
    if workflow.patched(CHANNELS_PATCH):
        await _deliver_by_channel(delivery)
        return
    try:
        await workflow.execute_activity_method(
            NotificationActivities.deliver_webhook, delivery, start_to_close_timeout=timedelta(seconds=30), retry_policy=WEBHOOK_RETRY
        )
    except ActivityError:
        workflow.logger.warning("webhook %s gave up on notification %s", delivery.url, delivery.notification.id)


async def _deliver_by_channel(delivery: WebhookDelivery) -> None:
    """Wait out the user's quiet hours on a timer (it survives restarts), then send to the delivery's channel."""
    if delivery.deferred_until is not None and delivery.deferred_until > workflow.now():
        _held_until().append(delivery.deferred_until)
        await workflow.sleep(delivery.deferred_until - workflow.now())
    try:
        await workflow.execute_activity_method(
            NotificationActivities.deliver_page, delivery, start_to_close_timeout=timedelta(seconds=30), retry_policy=WEBHOOK_RETRY
        )
    except ActivityError:
        workflow.logger.warning("%s delivery gave up on notification %s", delivery.channel, delivery.notification.id)
