from fastapi import APIRouter, Query
from sqlmodel import select

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.notifications import Notification
from models.tables import NotificationRow

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ERROR_RESPONSES)


@router.get("/notifications", response_model=list[Notification])
def my_notifications(
    session: SessionDep, user: CurrentUser, limit: int = Query(default=100, ge=1, le=1000)
) -> list[Notification]:
    """Pages, escalations, overdue notices and handoff requests for the caller, newest first."""
    rows = session.exec(
        select(NotificationRow)
        .where(NotificationRow.user_id == user.id)
        .order_by(NotificationRow.at.desc(), NotificationRow.id.desc())
        .limit(limit)
    )
    return [Notification.model_validate(r, from_attributes=True) for r in rows]
