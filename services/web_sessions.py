"""Browser sessions for the pages: opened by signing in with a token, ended by signing out or by the token changing.

The cookie holds a random id; the table keeps its hash, the hash of the token it was opened with, a CSRF token for
the session's forms, and one flash message (what the last action did, shown on the next page)."""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, delete, update

from core.security import hash_token
from models.tables import WebSessionRow

SESSION_LIFETIME = timedelta(hours=12)


def open_session(session: Session, user_id: str, token_hash: str, now: datetime | None = None) -> str:
    """Store a new session (and drop expired ones); returns the cookie value, which is never stored."""
    now = now or datetime.now(UTC)
    session.exec(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
    cookie = secrets.token_urlsafe(32)
    session.add(WebSessionRow(id_hash=hash_token(cookie), user_id=user_id, token_hash=token_hash,
                              csrf_token=secrets.token_urlsafe(24), created_at=now, expires_at=now + SESSION_LIFETIME))
    session.commit()
    return cookie


def find_session(session: Session, cookie: str | None, now: datetime | None = None) -> WebSessionRow | None:
    if not cookie:
        return None
    row = session.get(WebSessionRow, hash_token(cookie))
    if row is None or row.expires_at <= (now or datetime.now(UTC)):
        return None
    return row


def close_session(session: Session, cookie: str | None) -> None:
    if cookie:
        session.exec(delete(WebSessionRow).where(WebSessionRow.id_hash == hash_token(cookie)))
        session.commit()


def set_flash(session: Session, row: WebSessionRow, flash: dict[str, Any] | None) -> None:
    """By key, so it works whichever session loaded `row` (the caller is resolved once per request)."""
    session.exec(update(WebSessionRow).where(WebSessionRow.id_hash == row.id_hash).values(flash=flash))
    session.commit()


def take_flash(session: Session, row: WebSessionRow) -> dict[str, Any] | None:
    """The flash message, once: reading it clears it."""
    flash = row.flash
    if flash is not None:
        set_flash(session, row, None)
    return flash
