"""Paging: inbox rows (idempotent per key and user) and webhook deliveries."""

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import func, insert
from sqlmodel import Session, select
from temporalio import activity

from activities import Sessions
from core.outbound import destination_secret, post_signed
from core.settings import Settings, get_settings
from models.notifications import Notification, NotifyRequest, WebhookDelivery
from models.tables import NotificationRow, User
from workflows import activity_types


class NotificationActivities(activity_types.NotificationActivities):
    def __init__(self, sessions: Sessions, http: httpx.AsyncClient, settings: Callable[[], Settings]) -> None:
        self.sessions = sessions
        self.http = http
        self.settings = settings  # read at each call: the webhook timeout is configuration

    @activity.defn
    def record_notifications(self, request: NotifyRequest) -> list[WebhookDelivery]:
        """Write one inbox row per user; a retry finds the rows already there and writes nothing twice."""
        with self.sessions() as session:
            deliveries, written = write_notifications(session, request, run_id=activity.info().workflow_run_id)
        count_pages(request, written)
        return deliveries

    @activity.defn
    async def deliver_webhook(self, delivery: WebhookDelivery) -> None:
        """POST the notification as JSON; any non-2xx answer raises, so Temporal retries with backoff."""
        settings = self.settings()
        user_id = delivery.user_id or delivery.notification.id.rsplit(":", 1)[-1]  # older deliveries name no user
        response = await post_signed(
            self.http, delivery.url, delivery.notification.model_dump_json().encode(),
            destination_secret(settings, f"user:{user_id}"), settings.webhook_timeout_seconds,
            {"Idempotency-Key": delivery.notification.id},
        )
        response.raise_for_status()


RATE_WINDOW = timedelta(minutes=1)


def write_notifications(session: Session, request: NotifyRequest, per_minute: int | None = None, *,
                        run_id: str | None = None) -> tuple[list[WebhookDelivery], int]:
    """The inbox rows this page still lacks (one insert), and the webhook deliveries it makes; how many rows were new.

    A workflow's page key counts its pages from the run's start, and a reset run (`ops reset`) counts them again
    from the reset point: with the `run_id` of the run that pages in each row's id, the reset run's pages are
    recorded, while a retry within one run still finds its rows.

    Rate limit: a user who already has `per_minute` (PAGES_PER_USER_PER_MINUTE) unsuppressed notifications in the
    minute up to this one's `at` still gets the inbox row, marked `suppressed`, but no webhook delivery: an inbox is
    never silently short of a page, and a loop cannot flood a phone. The window is counted on `at` (the workflow's
    time), and a retry finds its rows already written, so a retried page is judged once."""
    per_minute = per_minute or get_settings().pages_per_user_per_minute
    key = f"{request.key}:{run_id}" if run_id else request.key
    ids = {user_id: f"{key}:{user_id}" for user_id in request.user_ids}
    existing = {row.id: row for row in session.exec(select(NotificationRow).where(NotificationRow.id.in_(ids.values())))}
    fresh = [user_id for user_id, row_id in ids.items() if row_id not in existing]
    recent = dict(session.exec(
        select(NotificationRow.user_id, func.count()).where(
            NotificationRow.user_id.in_(fresh), NotificationRow.at > request.at - RATE_WINDOW,
            NotificationRow.at <= request.at, NotificationRow.suppressed.is_(False))
        .group_by(NotificationRow.user_id)).all()) if fresh else {}
    rows = [existing.get(row_id) or NotificationRow(id=row_id, user_id=user_id, at=request.at, kind=request.kind,
                                                   subject_type=request.subject_type, subject_id=request.subject_id,
                                                   text=request.text, suppressed=recent.get(user_id, 0) >= per_minute)
            for user_id, row_id in ids.items()]
    new = [row.model_dump() for row in rows if row.id not in existing]
    if new:
        session.execute(insert(NotificationRow), new)
    webhooks = dict(session.exec(select(User.id, User.webhook_url).where(User.id.in_(ids), User.webhook_url.is_not(None))).all())
    deliveries = [WebhookDelivery(url=webhooks[row.user_id], notification=Notification.model_validate(row, from_attributes=True),
                                  user_id=row.user_id)
                  for row in rows if webhooks.get(row.user_id) and not row.suppressed]
    return deliveries, len(new)


def count_pages(request: NotifyRequest, written: int) -> None:
    """Counted once committed, and only rows this attempt wrote: a retried page is not counted twice."""
    pages_sent = activity.metric_meter().create_counter("pillar_pages_sent", "Notifications recorded (inbox rows)")
    pages_sent.add(written, {"kind": request.kind, "subject_type": request.subject_type})

