"""Tokens and users over their lifetime (issue 15, item 7): a token rotated or revoked stops at once, a disabled user
stops being anyone, and the bootstrap admin token can be replaced without a restart.

"At once" holds in every API process: each of these writes bumps the directory generation in its transaction
(models/tables/generations.py), and every request checks the generation before it trusts a cached principal."""

from datetime import UTC, datetime

from sqlmodel import Session, delete, select

from core.errors import PillarError
from core.outbound import check_outbound_url
from core.security import hash_token, new_token
from core.settings import get_settings
from models.directory import UserIn
from models.signals import SignalStatus, SignalSummary
from models.tables import AdminCredential, NotificationRow, SignalOwnerRow, SignalRow, TaskRow, User, WebSessionRow
from models.tasks import Task
from services.directory import ADMIN_ID

OPEN_SIGNAL_STATUSES = ("open", "escalated", "acknowledged")


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise PillarError("not_found", f"no user {user_id!r}")
    return user


def create_user(session: Session, body: UserIn) -> tuple[User, str]:
    """A new user and their token, returned once (only its hash is kept)."""
    if body.id == ADMIN_ID or session.get(User, body.id) is not None:
        raise PillarError("conflict", f"a user with id {body.id!r} already exists")
    if body.manager_id is not None and session.get(User, body.manager_id) is None:
        raise PillarError("invalid", f"unknown manager_id {body.manager_id!r}", {"field": "manager_id"})
    if body.webhook_url:
        check_outbound_url(str(body.webhook_url), get_settings(), "webhook_url")
    token = new_token()
    user = User(id=body.id, name=body.name, role=body.role.value, manager_id=body.manager_id, email=body.email,
                webhook_url=str(body.webhook_url) if body.webhook_url else None, token_hash=hash_token(token))
    session.add(user)
    session.commit()
    return user, token


def _end_web_sessions(session: Session, user_id: str) -> None:
    session.exec(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


def rotate_token(session: Session, user_id: str) -> str:
    """A new token for the user, returned once; the old one (and the web sessions opened with it) stop now."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        raise PillarError("conflict", f"{user_id!r} is disabled: enable them before giving them a token")
    token = new_token()
    user.token_hash, user.token_rotated_at = hash_token(token), datetime.now(UTC)
    session.add(user)
    _end_web_sessions(session, user_id)
    session.commit()
    return token


def revoke_token(session: Session, user_id: str) -> None:
    """The user's token stops now and nothing replaces it (its hash becomes one of a token nobody was given)."""
    user = get_user(session, user_id)
    user.token_hash, user.token_rotated_at = hash_token(new_token()), datetime.now(UTC)
    session.add(user)
    _end_web_sessions(session, user_id)
    session.commit()


def open_work(session: Session, user_id: str) -> tuple[list[str], list[str]]:
    """The ids of the signals the user owns that are not resolved, and of their tasks without a final outcome."""
    signals = session.exec(select(SignalRow.id).join(SignalOwnerRow, SignalOwnerRow.signal_id == SignalRow.id)
                           .where(SignalOwnerRow.user_id == user_id, SignalRow.status.in_(OPEN_SIGNAL_STATUSES))).all()
    tasks = session.exec(select(TaskRow.id).where(TaskRow.owner_id == user_id, TaskRow.is_open)).all()
    return sorted(set(signals)), sorted(tasks)


def disable_user(session: Session, user_id: str, by: str, reason: str | None = None) -> User:
    """The user's token stops, their web sessions end, their open signals and tasks show as unowned in every list,
    and their manager is paged with what is left (an inbox notification). Disabling twice changes nothing more."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        return user
    now = datetime.now(UTC)
    user.disabled_at = now
    session.add(user)
    _end_web_sessions(session, user_id)
    signals, tasks = open_work(session, user_id)
    if user.manager_id:
        because = f" ({reason})" if reason else ""
        session.add(NotificationRow(
            id=f"user-disabled:{user_id}:{now.isoformat()}:{user.manager_id}", user_id=user.manager_id, at=now,
            kind="owner_disabled", subject_type="user", subject_id=user_id,
            text=f"{user.name} ({user_id}) was disabled by {by}{because}: {len(signals)} open signal(s) and "
                 f"{len(tasks)} open task(s) are unowned until reassigned"
                 + (f": signals {', '.join(signals[:20])}" if signals else "")
                 + (f"; tasks {', '.join(tasks[:20])}" if tasks else "")))
    session.commit()
    session.refresh(user)
    return user


def enable_user(session: Session, user_id: str) -> User:
    """Let the user back in; their old token stays revoked (rotate it to give them one)."""
    user = get_user(session, user_id)
    if user.disabled_at is not None:
        user.disabled_at = None
        user.token_hash = hash_token(new_token())
        session.add(user)
        session.commit()
        session.refresh(user)
    return user


def disabled_user_ids(session: Session) -> frozenset[str]:
    return frozenset(session.exec(select(User.id).where(User.disabled_at.is_not(None))).all())


def admin_token_hash(session: Session, env_token: str | None) -> str | None:
    """The admin token's hash in force: the one stored by a rotation, else PILLAR_ADMIN_TOKEN's."""
    stored = session.get(AdminCredential, ADMIN_ID)
    if stored is not None:
        return stored.token_hash
    return hash_token(env_token) if env_token else None


def rotate_admin_token(session: Session, by: str) -> str:
    """A new bootstrap admin token, returned once; its hash is stored and wins over PILLAR_ADMIN_TOKEN from now on,
    in every process, without a restart."""
    token = new_token()
    stored = session.get(AdminCredential, ADMIN_ID) or AdminCredential(id=ADMIN_ID, token_hash="", rotated_by=by)
    stored.token_hash, stored.rotated_at, stored.rotated_by = hash_token(token), datetime.now(UTC), by
    session.add(stored)
    session.exec(delete(WebSessionRow).where(WebSessionRow.user_id == ADMIN_ID))
    session.commit()
    return token


def mark_unowned_signals(session: Session, signals: list[SignalSummary]) -> list[SignalSummary]:
    """Signals not resolved whose every owner is disabled are `unowned` (one query for the whole page)."""
    disabled = disabled_user_ids(session) if signals else frozenset()
    return [s.model_copy(update={"unowned": True})
            if disabled and s.status != SignalStatus.resolved and s.owners and set(s.owners) <= disabled else s
            for s in signals]


def mark_unowned_tasks(session: Session, tasks: list[Task]) -> list[Task]:
    disabled = disabled_user_ids(session) if tasks else frozenset()
    return [t.model_copy(update={"unowned": True}) if not t.is_final and t.owner_id in disabled else t for t in tasks]
