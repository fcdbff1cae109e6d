"""Paging: inbox rows (idempotent per key and user), and deliveries to each user's other channels with their log."""

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from html import escape

import httpx
from sqlalchemy import func, insert
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import Sessions
from core.outbound import destination_secret, post_signed, send_email
from core.settings import Settings, get_settings
from models.channels import QuietHours, signal_of_page
from models.notifications import Notification, NotifyRequest, WebhookDelivery
from models.tables import DeliveryRow, NotificationRow, SignalRow, User, UserChannelsRow
from models.tables.types import utcnow
from workflows import activity_types
from workflows.paging import WEBHOOK_RETRY


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
        """POST the notification as JSON; any non-2xx answer raises, so Temporal retries with backoff. (Executions
        that started before the channels call it; newer ones call `deliver_page`.)"""
        await self._post_webhook(delivery)

    @activity.defn
    async def deliver_page(self, delivery: WebhookDelivery) -> None:
        """Send one page to one channel, once: its row in the delivery log decides (a retry after a send that went
        through sends nothing), and records every attempt, its error and when it was delivered."""
        if not await asyncio.to_thread(self._attempt, delivery):
            return
        try:
            await self._send(delivery)
        except Exception as error:
            await asyncio.to_thread(self._record, delivery, error)
            raise
        await asyncio.to_thread(self._record, delivery, None)

    async def _send(self, delivery: WebhookDelivery) -> None:
        if delivery.channel == "webhook":
            await self._post_webhook(delivery)
        elif delivery.channel == "slack":
            settings = self.settings()
            body = json.dumps(slack_payload(delivery.notification, page_link(settings, delivery.notification))).encode()
            response = await post_signed(self.http, delivery.url, body, destination_secret(settings, f"user:{delivery.user_id}"),
                                         settings.webhook_timeout_seconds)
            response.raise_for_status()
        else:
            settings = self.settings()
            await asyncio.to_thread(send_email, settings, email_message(settings, delivery))

    async def _post_webhook(self, delivery: WebhookDelivery) -> None:
        settings = self.settings()
        user_id = delivery.user_id or delivery.notification.id.rsplit(":", 1)[-1]  # older deliveries name no user
        response = await post_signed(
            self.http, delivery.url, delivery.notification.model_dump_json().encode(),
            destination_secret(settings, f"user:{user_id}"), settings.webhook_timeout_seconds,
            {"Idempotency-Key": delivery.notification.id},
        )
        response.raise_for_status()

    def _attempt(self, delivery: WebhookDelivery) -> bool:
        """Count the attempt; False when the page was delivered already."""
        with self.sessions() as session:
            row = session.get(DeliveryRow, (delivery.notification.id, delivery.channel), with_for_update=True)
            if row is None:  # a channel set up between the page's record and its delivery
                row = log_row(delivery.notification, delivery.channel, delivery.user_id, "pending")
            if row.status == "delivered":
                return False
            row.attempts += 1
            row.status, row.updated_at = "pending", utcnow()
            session.add(row)
        return True

    def _record(self, delivery: WebhookDelivery, error: Exception | None) -> None:
        with self.sessions() as session:
            row = session.get(DeliveryRow, (delivery.notification.id, delivery.channel), with_for_update=True)
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
            else:
                row.status = "failed" if last_attempt(error) else "retrying"
                row.last_error = failure_text(error, delivery.url)
            row.updated_at = utcnow()
            session.add(row)


def last_attempt(error: Exception) -> bool:
    info = activity.info()
    # the policy the workflow gave (the Java test server does not pass it on: the one paging.py gives)
    maximum = (info.retry_policy or WEBHOOK_RETRY).maximum_attempts
    return (isinstance(error, ApplicationError) and error.non_retryable) or 0 < maximum <= info.attempt


def failure_text(error: Exception, destination: str) -> str:
    """What went wrong, without the destination: a Slack URL is a secret, and whoever sees the signal sees the log."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return f"{type(error).__name__}: {error}".replace(destination, "<destination>")[:500]


def page_link(settings: Settings, notification: Notification) -> str:
    signal_id = signal_of_page(notification.subject_type, notification.subject_id)
    if signal_id:
        return f"{settings.public_url}/signals/{signal_id}"
    if notification.subject_type == "play_run":
        return f"{settings.public_url}/runs/{notification.subject_id}"
    return f"{settings.public_url}/inbox"


def slack_text(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification, link: str) -> dict:
    """A Slack incoming webhook's message: `text` for notifications and clients without blocks, `blocks` to show."""
    text = slack_text(notification.text)
    return {
        "text": f"{text} <{link}|Open in Pillar>",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{notification.kind.title()}*: {text}"}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open in Pillar"}, "url": link}]},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"{notification.at:%Y-%m-%d %H:%M} UTC · {notification.id}"}]},
        ],
    }


def email_message(settings: Settings, delivery: WebhookDelivery) -> EmailMessage:
    """The page as an email; its Message-ID comes from the page, so a mail system can tell a repeat."""
    notification = delivery.notification
    link = page_link(settings, notification)
    message = EmailMessage()
    message["To"] = delivery.url
    message["Subject"] = f"[Pillar] {' '.join(notification.text.split())[:150]}"  # a header holds no line breaks
    message["Message-ID"] = f"<{hashlib.sha256(notification.id.encode()).hexdigest()[:32]}@pillar>"
    message.set_content(f"{notification.text}\n\n{link}\n")
    message.add_alternative(f'<p>{escape(notification.text)}</p><p><a href="{escape(link)}">Open in Pillar</a></p>', subtype="html")
    return message


RATE_WINDOW = timedelta(minutes=1)


def write_notifications(session: Session, request: NotifyRequest, per_minute: int | None = None, *,
                        run_id: str | None = None, severity: str | None = None,
                        sends: bool = True) -> tuple[list[WebhookDelivery], int]:
    """The inbox rows this page still lacks (one insert), and the deliveries to other channels it makes; how many rows
    were new.

    A workflow's page key counts its pages from the run's start, and a reset run (`ops reset`) counts them again
    from the reset point: with the `run_id` of the run that pages in each row's id, the reset run's pages are
    recorded, while a retry within one run still finds its rows.

    Rate limit: a user who already has `per_minute` (PAGES_PER_USER_PER_MINUTE) unsuppressed notifications in the
    minute up to this one's `at` still gets the inbox row, marked `suppressed`, but no other delivery: an inbox is
    never silently short of a page, and a loop cannot flood a phone. The window is counted on `at` (the workflow's
    time), and a retry finds its rows already written, so a retried page is judged once.

    `severity` is the page's signal's, when the caller knows it (a signal's first page comes before its row). A caller
    that sends no deliveries (`sends=False`: an activity's own page) gets none, and the log shows the inbox alone."""
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
    new = [row for row in rows if row.id not in existing]
    if new:
        session.execute(insert(NotificationRow), [row.model_dump() for row in new])
    deliveries = channel_deliveries(session, request, [row for row in rows if not row.suppressed and sends], severity)
    log_deliveries(session, new, [d for d in deliveries if d.notification.id not in existing])
    return deliveries, len(new)


def channel_deliveries(session: Session, request: NotifyRequest, rows: list[NotificationRow],
                       severity: str | None) -> list[WebhookDelivery]:
    """Each row's deliveries to its user's webhook, Slack and email; held until the end of the user's quiet hours
    unless the page is critical."""
    users = [row.user_id for row in rows]
    if not users:
        return []
    webhooks = dict(session.exec(select(User.id, User.webhook_url).where(User.id.in_(users), User.webhook_url.is_not(None))).all())
    channels = {c.user_id: c for c in session.exec(select(UserChannelsRow).where(UserChannelsRow.user_id.in_(users)))}
    critical = is_critical(session, request, severity)
    deliveries = []
    for row in rows:
        own = channels.get(row.user_id)
        held = None if critical or own is None else quiet_hours_end(own, request)
        notification = Notification.model_validate(row, from_attributes=True)
        for channel, to in (("webhook", webhooks.get(row.user_id)), ("slack", own and own.slack_webhook_url),
                            ("email", own and own.email)):
            if to:
                deliveries.append(WebhookDelivery(url=to, notification=notification, user_id=row.user_id,
                                                  channel=channel, deferred_until=held))
    return deliveries


def is_critical(session: Session, request: NotifyRequest, severity: str | None) -> bool:
    """A page about a critical signal or one of its tasks (its escalations included) goes through quiet hours; so
    does one about a signal with no row to say otherwise."""
    if severity is None:
        signal_id = signal_of_page(request.subject_type, request.subject_id)
        if signal_id is None:
            return False
        row = session.get(SignalRow, signal_id)
        severity = row.severity if row else "critical"
    return severity == "critical"


def quiet_hours_end(channels: UserChannelsRow, request: NotifyRequest):
    if channels.quiet_start is None or channels.quiet_end is None or channels.quiet_zone is None:
        return None
    return QuietHours(start=channels.quiet_start, end=channels.quiet_end, zone=channels.quiet_zone).end_after(request.at)


def log_row(notification: Notification | NotificationRow, channel: str, user_id: str, status: str, **fields) -> DeliveryRow:
    return DeliveryRow(notification_id=notification.id, channel=channel, user_id=user_id, status=status,
                       signal_id=signal_of_page(notification.subject_type, notification.subject_id), **fields)


def log_deliveries(session: Session, new: list[NotificationRow], deliveries: list[WebhookDelivery]) -> None:
    """The delivery log of new pages: the inbox (delivered, or suppressed by the rate limit) and each channel's
    delivery, pending or deferred."""
    rows = [log_row(row, "inbox", row.user_id, "suppressed" if row.suppressed else "delivered", attempts=1,
                    delivered_at=None if row.suppressed else row.at) for row in new]
    rows += [log_row(d.notification, d.channel, d.user_id, "deferred" if d.deferred_until else "pending",
                     deferred_until=d.deferred_until) for d in deliveries]
    if rows:
        session.execute(insert(DeliveryRow), [row.model_dump() for row in rows])


def count_pages(request: NotifyRequest, written: int) -> None:
    """Counted once committed, and only rows this attempt wrote: a retried page is not counted twice."""
    pages_sent = activity.metric_meter().create_counter("pillar_pages_sent", "Notifications recorded (inbox rows)")
    pages_sent.add(written, {"kind": request.kind, "subject_type": request.subject_type})
