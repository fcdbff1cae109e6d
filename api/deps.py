"""FastAPI dependencies: the DB session, the Temporal client, the caller and role checks."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.db import get_async_session, get_session, in_session
from core.errors import PillarError
from core.security import hash_token, same_token
from core.settings import get_settings
from core.temporal import get_temporal_client
from models.common import Actor, Role
from models.tables import User, WebSessionRow
from services.directory import ADMIN_ID, actor_for
from services.read_cache import ReadCache
from services.users import admin_token_hash
from services.web_sessions import find_session

SessionDep = Annotated[Session, Depends(get_session)]  # sync routes only: FastAPI runs them in its threadpool
AsyncSessionDep = Annotated[AsyncSession, Depends(get_async_session)]  # async routes: never blocks the event loop
SESSION_COOKIE = "pillar_session"

# Bounds stated in /openapi.json: an id in a path is at most 200 characters, a filter at most 200, a config version
# fits a 32-bit integer (SQLite and PostgreSQL would fail on larger ones: a 500 before these bounds).
MAX_VERSION = 2**31 - 1
PathId = Annotated[str, Path(min_length=1, max_length=200)]
QueryText = Annotated[str | None, Query(max_length=200)]
ConfigVersion = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A config version (1, 2, ...)")]


async def temporal_client() -> Client:
    try:
        return await get_temporal_client()
    except RuntimeError as error:
        raise PillarError("unavailable", f"Temporal is unreachable: {error}") from error


TemporalDep = Annotated[Client, Depends(temporal_client)]


@dataclass(frozen=True)
class Principal:
    id: str
    role: Role
    name: str

    async def actor(self, session: AsyncSession) -> Actor:
        return await in_session(session, actor_for, self.id, self.role.value)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal_for_hash(session: Session, token_hash: str) -> Principal | None:
    """Who holds the token with this hash: the bearer header and a page's session cookie both resolve here."""
    admin_hash = admin_token_hash(session, get_settings().pillar_admin_token)  # a rotated one wins over the env's
    if admin_hash and same_token(token_hash, admin_hash):
        return Principal(id=ADMIN_ID, role=Role.admin, name="Administrator")
    user = session.exec(select(User).where(User.token_hash == token_hash, User.disabled_at.is_(None))).first()
    return Principal(id=user.id, role=Role(user.role), name=user.name) if user else None


def principal_for_token(session: Session, token: str | None) -> Principal | None:
    return principal_for_hash(session, hash_token(token)) if token else None


async def read_cache(request: Request) -> ReadCache:
    """The process's cache of the directory and config (services/read_cache.py), made on first use."""
    cache = getattr(request.app.state, "read_cache", None)
    if cache is None:
        cache = request.app.state.read_cache = ReadCache()
    return cache


ReadCacheDep = Annotated[ReadCache, Depends(read_cache)]


def cached_principal(session: Session, cache: ReadCache, token: str) -> Principal | None:
    """Who holds the token, through the cache (checked against the directory generation: once per request)."""
    cache.refresh(session)
    token_hash = hash_token(token)
    return cache.get(("principal", token_hash), lambda: principal_for_hash(session, token_hash))


async def current_principal(request: Request, session: AsyncSessionDep, cache: ReadCacheDep) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise PillarError("unauthorized", "missing bearer token: send 'Authorization: Bearer <token>'")
    principal = await in_session(session, cached_principal, cache, token)
    if principal is None:
        raise PillarError("unauthorized", "unknown or revoked token")
    return principal


def cookie_principal(request: Request, session: Session) -> tuple[Principal, WebSessionRow] | None:
    """The pages' caller: the session cookie's session, and whoever holds the token it was opened with (a replaced
    or revoked token ends it). The API itself takes only the bearer header."""
    row = find_session(session, request.cookies.get(SESSION_COOKIE))
    principal = principal_for_hash(session, row.token_hash) if row else None
    return (principal, row) if principal else None


CurrentUser = Annotated[Principal, Depends(current_principal)]


def check_roles(user: Principal, roles, what: str = "this action") -> Principal:
    """Let through only the given roles (admin always passes); anyone else gets a 403 naming them."""
    allowed = {Role.admin, *roles}
    if user.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise PillarError("forbidden", f"{what} needs one of the roles: {names} (you are {user.role.value})")
    return user


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only the given roles (admin always passes)."""

    async def check(user: CurrentUser) -> Principal:
        return check_roles(user, roles)

    return check


AdminUser = Annotated[Principal, Depends(require_roles())]
ConfigEditor = Annotated[Principal, Depends(require_roles(Role.revops))]
OpsUser = Annotated[Principal, Depends(require_roles(Role.ops))]
