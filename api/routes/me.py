from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.notifications import Notification
from services.inbox import notifications_for

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ERROR_RESPONSES)


@router.get("/notifications", response_model=list[Notification])
def my_notifications(
    session: SessionDep, user: CurrentUser, limit: int = Query(default=100, ge=1, le=1000)
) -> list[Notification]:
    """Pages, escalations, overdue notices and handoff requests for the caller, newest first."""
    return notifications_for(session, user.id, limit)
