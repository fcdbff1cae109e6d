"""The test database: the demo users as the workflows see them, what they have been sent, and their webhooks."""

from sqlmodel import Session, select

from core.db import get_engine
from models.tables import NotificationRow, User
from services.directory import actor_for


def actor(user_id: str, role: str):
    """The demo user as the workflows' Actor (with the people they manage)."""
    with Session(get_engine()) as session:
        return actor_for(session, user_id, role)


def inbox(user_id: str, subject_id: str) -> list[str]:
    """The kinds of notification `user_id` has had about `subject_id`, sorted."""
    with Session(get_engine()) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.user_id == user_id, NotificationRow.subject_id == subject_id))
        return sorted(r.kind for r in rows)


def set_webhook(user_id: str, url: str) -> None:
    with Session(get_engine()) as session:
        user = session.get(User, user_id)
        user.webhook_url = url
        session.add(user)
        session.commit()
