"""Users and their tokens, for an admin: the directory, a new user, a token rotated or revoked, a user disabled or
let back in. A new token is shown once, on the answer to the form that made it (never in a URL, a flash message
or a log line), on a page no cache keeps."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import AsyncSessionDep
from api.pages.web import WebUser, done, invalid, page_roles, posted_form, refused, render_page
from core.db import in_session
from core.errors import PillarError
from core.paging import MAX_LIMIT, PageRequest
from models.common import Role
from models.directory import UserIn
from services import directory, users

router = APIRouter(include_in_schema=False)
AdminPageUser = Annotated[WebUser, Depends(page_roles())]
BACK = "/admin/users"
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


@router.get("/admin/users")
async def users_page(request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    found = await in_session(session, lambda s: directory.list_users(s, PageRequest(limit=MAX_LIMIT)).items)
    return await render_page(request, session, user, "admin_users.html", {
        "users": found, "names": {u.id: u.name for u in found}, "roles": [r.value for r in Role]})


async def token_page(request: Request, session, user: WebUser, who, token: str, created: bool) -> Response:
    response = await render_page(request, session, user, "admin_token.html",
                                 {"who": who, "token": token, "created": created})
    response.headers.update(NO_STORE)
    return response


@router.post("/admin/users")
async def create_user(request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    form = await posted_form(request, user)
    try:
        body = UserIn(id=form.get("id", "").strip(), name=form.get("name", "").strip(), role=form.get("role", ""),
                      manager_id=form.get("manager_id") or None, email=form.get("email", "").strip() or None)
        created, token = await in_session(session, users.create_user, body)
    except ValidationError as error:
        return await refused(session, user, invalid(error), BACK, "new-user", form)
    except PillarError as error:
        return await refused(session, user, error, BACK, "new-user", form)
    return await token_page(request, session, user, created, token, created=True)


@router.post("/admin/users/{user_id}/token")
async def rotate_token(user_id: str, request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    await posted_form(request, user)
    try:
        token = await in_session(session, users.rotate_token, user_id)
        who = await in_session(session, users.get_user, user_id)
    except PillarError as error:
        return await refused(session, user, error, BACK, f"user-{user_id}")
    return await token_page(request, session, user, who, token, created=False)


async def _act(request: Request, session, user: WebUser, user_id: str, act, said: str) -> Response:
    form = await posted_form(request, user)
    try:
        await in_session(session, act, user_id, form.get("reason", "").strip()[:2000] or None)
    except PillarError as error:
        return await refused(session, user, error, BACK, f"user-{user_id}", form)
    return await done(session, user, said.format(user_id=user_id), BACK)


@router.post("/admin/users/{user_id}/revoke")
async def revoke_token(user_id: str, request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    return await _act(request, session, user, user_id, lambda s, who, _: users.revoke_token(s, who),
                      "{user_id}'s token is revoked: it stopped working now, and nothing replaces it until you rotate it.")


@router.post("/admin/users/{user_id}/disable")
async def disable(user_id: str, request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    return await _act(request, session, user, user_id, lambda s, who, why: users.disable_user(s, who, user.id, why),
                      "{user_id} is disabled: their token and sessions stopped, and their manager was told of their open work.")


@router.post("/admin/users/{user_id}/enable")
async def enable(user_id: str, request: Request, session: AsyncSessionDep, user: AdminPageUser) -> Response:
    return await _act(request, session, user, user_id, lambda s, who, _: users.enable_user(s, who),
                      "{user_id} is enabled again: rotate their token to give them one.")
