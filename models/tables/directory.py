from datetime import date, datetime

from sqlalchemy import JSON, Column, delete, event, insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    role: str = Field(max_length=32, index=True)
    manager_id: str | None = Field(default=None, foreign_key="users.id", max_length=64, index=True)
    email: str | None = Field(default=None, max_length=320)
    webhook_url: str | None = Field(default=None, max_length=2000)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set by an admin: the token stops, web sessions end, open work shows as unowned (services/users.py)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    token_rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AdminCredential(SQLModel, table=True):
    """The bootstrap admin token once replaced (`POST /api/v1/admin/token`, `pillar admin-token rotate`): its hash
    wins over PILLAR_ADMIN_TOKEN, which then stops working, without a restart."""

    __tablename__ = "admin_credentials"

    id: str = Field(primary_key=True, max_length=64)  # always "admin": one row
    token_hash: str = Field(max_length=64)
    rotated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    rotated_by: str = Field(max_length=64)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    arr: float = 0
    motion: str | None = Field(default=None, max_length=64, index=True)
    segment: str | None = Field(default=None, max_length=64)
    renewal_date: date | None = None
    team: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AccountMember(SQLModel, table=True):
    """One row per (account, team role): the account team as an indexed table, so "the accounts a person's team
    holds" is a join, not a scan of every team. Kept by the ORM listener below from `Account.team`."""

    __tablename__ = "account_members"

    account_id: str = Field(primary_key=True, foreign_key="accounts.id", max_length=64)
    role: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(max_length=64, index=True)


@event.listens_for(OrmSession, "after_flush")
def _sync_account_members(session: OrmSession, _context) -> None:
    """Every account written through the ORM (the API, the handoff team change, the seed) rewrites its members in the
    same transaction."""
    changed = [row for row in (*session.new, *session.dirty) if isinstance(row, Account)]
    gone = [row.id for row in session.deleted if isinstance(row, Account)]
    if not changed and not gone:
        return
    connection = session.connection()
    connection.execute(delete(AccountMember).where(AccountMember.account_id.in_([a.id for a in changed] + gone)))
    members = [{"account_id": a.id, "role": role, "user_id": user_id}
               for a in changed for role, user_id in (a.team or {}).items() if user_id]
    if members:
        connection.execute(insert(AccountMember), members)
