from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.outbound import SIGNATURE_HEADER, destination_secret
from core.settings import get_settings
from models.notifications import Notification, WebhookSecret
from services.inbox import notifications_for

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ERROR_RESPONSES)


@router.get("/notifications", response_model=list[Notification], responses=PAGED, description=(
    "Pages, escalations, overdue notices and handoff requests for the caller, newest first." + PAGING_NOTE))
def my_notifications(session: SessionDep, user: CurrentUser, paging: PagingDep) -> list[Notification]:
    return paging.send(notifications_for(session, user.id, paging.page))


@router.get("/webhook-secret", response_model=WebhookSecret)
def my_webhook_secret(user: CurrentUser) -> WebhookSecret:
    """The secret that signs the caller's webhook deliveries (only its owner sees it): check each delivery's
    `Pillar-Signature` header with it (README, "Webhooks")."""
    return WebhookSecret(destination=f"user:{user.id}", header=SIGNATURE_HEADER,
                         secret=destination_secret(get_settings(), f"user:{user.id}"))
