"""Pages per user are rate-limited (issue 15, item 2): past PAGES_PER_USER_PER_MINUTE in a minute, a notification is
still in the inbox, marked `suppressed`, and sent to no webhook; nothing is lost, and a retry is judged once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from activities.notifications import write_notifications
from core.settings import get_settings
from models.notifications import NotifyRequest
from models.tables import NotificationRow, User
from services.inbox import notifications_for
from tests.support.stack import seed

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def page(n: int, at: datetime = AT, users=("casey",)) -> NotifyRequest:
    return NotifyRequest(key=f"flood-{n}", user_ids=list(users), kind="page", subject_type="signal",
                         subject_id=f"sig-{n}", text=f"page {n}", at=at)


def send(session: Session, request: NotifyRequest, per_minute: int = 3):
    deliveries, written = write_notifications(session, request, per_minute)
    session.commit()
    return deliveries, written


@pytest.fixture
def directory(sqlite_db):
    seed()
    with Session(sqlite_db) as session:
        for user_id in ("casey", "lee"):
            user = session.get(User, user_id)
            user.webhook_url = f"https://hooks.example.com/{user_id}"
            session.add(user)
        session.commit()
        yield session


def test_past_the_limit_a_page_is_kept_in_the_inbox_marked_and_sent_to_no_webhook(directory):
    sent = [send(directory, page(n, AT + timedelta(seconds=n)))[0] for n in range(5)]
    assert [len(d) for d in sent] == [1, 1, 1, 0, 0]
    rows = directory.exec(select(NotificationRow).where(NotificationRow.user_id == "casey")
                          .order_by(NotificationRow.at)).all()
    assert [(r.subject_id, r.suppressed) for r in rows] == [
        ("sig-0", False), ("sig-1", False), ("sig-2", False), ("sig-3", True), ("sig-4", True)]
    listed = notifications_for(directory, "casey").items
    assert {n.subject_id: n.suppressed for n in listed} == {r.subject_id: r.suppressed for r in rows}

    # a retry of a suppressed page writes nothing and still sends nothing; of a sent one, delivers it again
    assert send(directory, page(3, AT + timedelta(seconds=3))) == ([], 0)
    again, written = send(directory, page(0, AT))
    assert written == 0 and [d.notification.subject_id for d in again] == ["sig-0"]


def test_the_limit_is_per_user_and_per_minute(directory):
    for n in range(3):
        send(directory, page(n, AT + timedelta(seconds=n), users=("casey",)))
    shared, _ = send(directory, page(10, AT + timedelta(seconds=10), users=("casey", "lee")))
    assert [d.user_id for d in shared] == ["lee"]  # casey is past the rate, lee is not
    later, _ = send(directory, page(11, AT + timedelta(seconds=61)))  # sig-0's minute has passed
    assert [d.user_id for d in later] == ["casey"]


def test_the_default_limit_is_generous_and_configurable(monkeypatch):
    assert get_settings().pages_per_user_per_minute == 30
    monkeypatch.setenv("PAGES_PER_USER_PER_MINUTE", "5")
    get_settings.cache_clear()
    try:
        assert get_settings().pages_per_user_per_minute == 5
    finally:
        monkeypatch.delenv("PAGES_PER_USER_PER_MINUTE")
        get_settings.cache_clear()
