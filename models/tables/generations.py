"""One counter per kind of rarely-changing data that processes cache (the directory and config): every write to it,
in any process, bumps the counter in the same transaction, so a cache knows it is stale with one indexed read."""

from sqlalchemy import event, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from models.tables.config import ConfigVersion
from models.tables.directory import Account, AdminCredential, User

DIRECTORY = "directory"  # users (roles, managers, tokens), the admin token, accounts (teams), every config version
CACHED_TABLES = (User, Account, ConfigVersion, AdminCredential)


class CacheGeneration(SQLModel, table=True):
    __tablename__ = "cache_generations"

    name: str = Field(primary_key=True, max_length=40)
    generation: int = 0


BUMP = update(CacheGeneration).where(CacheGeneration.name == DIRECTORY).values(generation=CacheGeneration.generation + 1)


# After the change, not before: every writer then locks the changed row first and the counter second (PostgreSQL), so
# a handoff's acceptance locking an account and an account PUT can never wait on each other in a cycle.
@event.listens_for(OrmSession, "after_flush")
def _bump_on_change(session: OrmSession, _context) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(row, CACHED_TABLES) for row in changed):
        session.connection().execute(BUMP)


@event.listens_for(OrmSession, "do_orm_execute")
def _bump_on_bulk_change(state):
    """UPDATE and DELETE statements (and INSERT … VALUES) skip the flush: catch them too."""
    if (state.is_update or state.is_delete or state.is_insert) and getattr(state.statement, "table", None) is not None:
        if state.statement.table.name in {t.__tablename__ for t in CACHED_TABLES}:
            result = state.invoke_statement()
            state.session.connection().execute(BUMP)
            return result
