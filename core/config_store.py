"""Versioned config: every write appends a version; a version, once written, never changes."""

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.tables import ConfigVersion

ROUTING = "routing"
CALENDARS = "calendars"  # the team calendars business-hours SLAs count on (models/calendars.py)


def latest(session: Session, kind: str) -> ConfigVersion | None:
    return session.exec(
        select(ConfigVersion).where(ConfigVersion.kind == kind).order_by(ConfigVersion.version.desc()).limit(1)
    ).first()


M = TypeVar("M", bound=BaseModel)


def current(session: Session, kind: str, model: type[M], default: dict[str, Any] | None = None) -> M | None:
    """The latest version of `kind` as `model`, with its version and who wrote it when; with none stored, `default`
    as version 0, or None without a default."""
    row = latest(session, kind)
    if row is None:
        return None if default is None else model.model_validate({**default, "version": 0})
    return model.model_validate({**row.body, "version": row.version, "created_at": row.created_at, "created_by": row.created_by})


def get(session: Session, kind: str, version: int) -> ConfigVersion | None:
    return session.get(ConfigVersion, (kind, version))


def next_version(session: Session, kind: str) -> int:
    return (session.exec(select(func.max(ConfigVersion.version)).where(ConfigVersion.kind == kind)).one() or 0) + 1


def seed(session: Session, kind: str, body: dict[str, Any]) -> None:
    """Version 1 of `kind` when there is none: an edited config is never overwritten."""
    if latest(session, kind) is None:
        append(session, kind, body, created_by="seed")


def append(session: Session, kind: str, body: dict[str, Any], created_by: str | None) -> ConfigVersion:
    """Write the next version and commit. Two writers racing: the loser retries on the next number."""
    for _ in range(5):
        row = ConfigVersion(kind=kind, version=next_version(session, kind), body=body, created_by=created_by)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            continue
        session.refresh(row)
        return row
    raise RuntimeError(f"could not write a new {kind} config version")
