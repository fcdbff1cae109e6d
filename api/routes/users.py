from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.deps import AdminUser, CurrentUser, PathId, Principal, SessionDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from core.errors import PillarError
from models.channels import ChannelsIn, ChannelsOut
from models.common import Role
from models.directory import DisableIn, NewToken, UserCreated, UserIn, UserOut
from models.tables import User
from services import directory, users
from services.channels import channels_of, set_channels
from services.directory import ADMIN_ID

router = APIRouter(prefix="/api/v1/users", tags=["directory"], responses=ERROR_RESPONSES)


def user_out(user: User, viewer: Principal | None = None) -> UserOut:
    """The user as `viewer` may read them: contact details (email, webhook URL) only for an admin or themself."""
    out = UserOut.model_validate(user, from_attributes=True)
    if viewer is not None and viewer.role != Role.admin and viewer.id != user.id:
        out = out.model_copy(update={"email": None, "webhook_url": None})
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserCreated)
def create_user(body: UserIn, session: SessionDep, _: AdminUser) -> UserCreated:
    """Create a user and return their bearer token, once; only its hash is kept."""
    user, token = users.create_user(session, body)
    return UserCreated(**user_out(user).model_dump(), token=token)


@router.get("", response_model=list[UserOut], responses=PAGED, description=(
    "The directory's users, by id; `email` and `webhook_url` are null except for an admin and the user themself."
    + PAGING_NOTE))
def list_users(session: SessionDep, viewer: CurrentUser, paging: PagingDep) -> list[UserOut]:
    return [user_out(u, viewer) for u in paging.send(directory.list_users(session, paging.page))]


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: PathId, session: SessionDep, viewer: CurrentUser) -> UserOut:
    user = session.get(User, user_id)
    if user is None:
        raise PillarError("not_found", f"no user {user_id!r}")
    return user_out(user, viewer)


def _self_or_admin(viewer: Principal, user_id: str, what: str) -> None:
    if viewer.role != Role.admin and viewer.id != user_id:
        raise PillarError("forbidden", f"{what} is for an admin or {user_id!r} themself")


@router.post("/{user_id}/token", response_model=NewToken)
def rotate_token(user_id: PathId, session: SessionDep, viewer: CurrentUser) -> NewToken:
    """A new token for the user (an admin, or the user themself), shown once. The old token stops at once, in
    every API process, and the web sessions opened with it end."""
    _self_or_admin(viewer, user_id, "rotating a token")
    return NewToken(user_id=user_id, token=users.rotate_token(session, user_id))


@router.delete("/{user_id}/token", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def revoke_token(user_id: PathId, session: SessionDep, viewer: CurrentUser) -> Response:
    """Revoke the user's token (an admin, or the user themself): it stops at once and nothing replaces it until
    it is rotated."""
    _self_or_admin(viewer, user_id, "revoking a token")
    users.revoke_token(session, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/disable", response_model=UserOut)
def disable_user(user_id: PathId, session: SessionDep, admin: AdminUser, body: DisableIn | None = None) -> UserOut:
    """Disable a user (admin): their token stops, their web sessions end, their open signals and tasks show as
    `unowned` in the lists, and their manager gets an `owner_disabled` notification naming that work."""
    return user_out(users.disable_user(session, user_id, admin.id, body.reason if body else None), admin)


@router.post("/{user_id}/enable", response_model=UserOut)
def enable_user(user_id: PathId, session: SessionDep, admin: AdminUser) -> UserOut:
    """Let a disabled user back in (admin). Their old token stays revoked: rotate it to give them a new one."""
    return user_out(users.enable_user(session, user_id), admin)


def channels_editor(user_id: PathId, viewer: CurrentUser) -> Principal:
    """A dependency: refused before the body is read, so a caller who may not is told so, not that the body is wrong."""
    _self_or_admin(viewer, user_id, "a user's channels")
    return viewer


ChannelsEditor = Annotated[Principal, Depends(channels_editor)]


@router.get("/{user_id}/channels", response_model=ChannelsOut)
def get_user_channels(user_id: PathId, session: SessionDep, viewer: ChannelsEditor) -> ChannelsOut:
    """A user's paging channels (an admin, or the user themself); the Slack URL is masked to anyone but its owner."""
    return channels_of(session, user_id, viewer.id)


@router.put("/{user_id}/channels", response_model=ChannelsOut)
def put_user_channels(user_id: PathId, body: ChannelsIn, session: SessionDep, viewer: ChannelsEditor) -> ChannelsOut:
    """Set a user's channels (an admin, or the user themself), as `PUT /api/v1/me/channels` does."""
    return set_channels(session, user_id, body, viewer.id)


admin_router = APIRouter(prefix="/api/v1/admin", tags=["directory"], responses=ERROR_RESPONSES)


@admin_router.post("/token", response_model=NewToken)
def rotate_admin_token(session: SessionDep, admin: AdminUser) -> NewToken:
    """Replace the bootstrap admin token without a restart: the new one is shown once, its hash is stored in the
    database and wins over PILLAR_ADMIN_TOKEN, which stops working at once in every process."""
    return NewToken(user_id=ADMIN_ID, token=users.rotate_admin_token(session, admin.id))
