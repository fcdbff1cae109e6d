from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.outbound import SIGNATURE_HEADER, destination_secret
from core.settings import get_settings
from models.channels import ChannelsIn, ChannelsOut
from models.notifications import Notification, WebhookSecret
from services.channels import channels_of, set_channels
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


@router.get("/channels", response_model=ChannelsOut)
def my_channels(session: SessionDep, user: CurrentUser) -> ChannelsOut:
    """Where the caller's pages go: the inbox always, and email, Slack and the signed webhook where set; quiet hours."""
    return channels_of(session, user.id, user.id)


@router.put("/channels", response_model=ChannelsOut)
def put_my_channels(body: ChannelsIn, session: SessionDep, user: CurrentUser) -> ChannelsOut:
    """Set the caller's channels: a field sent as null turns that channel off, a field left out keeps its value.
    URLs must be https and public (as the webhook's). During quiet hours, warning and info pages wait until they
    end (the delivery log says until when); critical ones, escalations included, go through."""
    return set_channels(session, user.id, body, user.id)
