from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from models.notifications import Notification
from services.inbox import notifications_for

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ERROR_RESPONSES)


@router.get("/notifications", response_model=list[Notification], responses=PAGED, description=(
    "Pages, escalations, overdue notices and handoff requests for the caller, newest first." + PAGING_NOTE))
def my_notifications(session: SessionDep, user: CurrentUser, paging: PagingDep) -> list[Notification]:
    return paging.send(notifications_for(session, user.id, paging.page))
