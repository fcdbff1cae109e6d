"""A user's paging channels (read and set through /me/channels and /users/{id}/channels) and a signal's delivery log."""

from sqlmodel import Session, select

from core.errors import PillarError
from core.outbound import check_outbound_url
from core.settings import get_settings
from models.channels import ChannelsIn, ChannelsOut, DeliveryOut, QuietHours, masked
from models.tables import DeliveryRow, NotificationRow, User, UserChannelsRow

MAX_DELIVERIES = 500  # a signal's log shown at once: its pages times its people's channels stay far below


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise PillarError("not_found", f"no user {user_id!r} (the bootstrap admin has no channels)")
    return user


def channels_of(session: Session, user_id: str, viewer_id: str) -> ChannelsOut:
    """The user's channels; the Slack URL (its path is the credential) in full only for its owner."""
    user = _user(session, user_id)
    row = session.get(UserChannelsRow, user_id) or UserChannelsRow(user_id=user_id)
    quiet = (QuietHours(start=row.quiet_start, end=row.quiet_end, zone=row.quiet_zone)
             if row.quiet_start is not None and row.quiet_end is not None and row.quiet_zone else None)
    slack = row.slack_webhook_url if viewer_id == user_id else masked(row.slack_webhook_url)
    return ChannelsOut(user_id=user_id, email=row.email, slack_webhook_url=slack, webhook_url=user.webhook_url,
                       quiet_hours=quiet)


def set_channels(session: Session, user_id: str, body: ChannelsIn, viewer_id: str) -> ChannelsOut:
    """Set the channels the body names (null turns one off); a field left out keeps its value, so an admin who sees
    the Slack URL masked can change the rest without erasing it. URLs are fenced as the webhook's are."""
    user = _user(session, user_id)
    sent = body.model_fields_set
    for field in ("slack_webhook_url", "webhook_url"):
        if field in sent and getattr(body, field) is not None:
            check_outbound_url(str(getattr(body, field)), get_settings(), field)
    row = session.get(UserChannelsRow, user_id) or UserChannelsRow(user_id=user_id)
    if "email" in sent:
        row.email = body.email
    if "slack_webhook_url" in sent:
        row.slack_webhook_url = str(body.slack_webhook_url) if body.slack_webhook_url else None
    if "quiet_hours" in sent:
        quiet = body.quiet_hours
        row.quiet_start, row.quiet_end, row.quiet_zone = (quiet.start, quiet.end, quiet.zone) if quiet else (None, None, None)
    if "webhook_url" in sent:
        user.webhook_url = str(body.webhook_url) if body.webhook_url else None
        session.add(user)
    session.add(row)
    session.commit()
    return channels_of(session, user_id, viewer_id)


def deliveries_for_signal(session: Session, signal_id: str) -> list[DeliveryOut]:
    """Every page about the signal or its tasks, per person and channel, oldest first: one indexed read."""
    rows = session.exec(
        select(DeliveryRow, NotificationRow.kind, NotificationRow.at)
        .join(NotificationRow, NotificationRow.id == DeliveryRow.notification_id)
        .where(DeliveryRow.signal_id == signal_id)
        .order_by(NotificationRow.at, DeliveryRow.notification_id, DeliveryRow.channel)
        .limit(MAX_DELIVERIES)).all()
    return [DeliveryOut(**row.model_dump(exclude={"signal_id", "updated_at"}), kind=kind, at=at) for row, kind, at in rows]
