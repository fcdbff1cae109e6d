"""The database engine and sessions: one engine per process, migrations by Alembic."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache, wraps
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from core.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def reset_engine() -> None:
    """Forget the cached settings and engine (tests switch databases with this)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


MIGRATION_LOCK_ID = 0x70696C6C6172  # "pillar": the PostgreSQL advisory lock that serializes migrations


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema up to date (every Alembic head). Safe when several processes start at once (N workers, a
    compose service with replicas): the first takes the database's write lock and migrates; the others wait for it,
    then find the schema at head and do nothing (without the lock, both would create the same tables)."""
    from alembic import command
    from alembic.config import Config

    engine = engine or get_engine()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite begins lazily; take the write lock now, before Alembic reads the version (busy timeout: 30 s)
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error (for activities and scripts)."""
    with Session(get_engine()) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def once_more_on_insert_race(write):
    """For read-model upserts: when two writers insert the same new row at once, the loser's transaction fails on
    the unique key; run it once more, and it finds the row and applies its own revision rule."""

    @wraps(write)
    def wrapper(*args, **kwargs):
        try:
            return write(*args, **kwargs)
        except IntegrityError:
            return write(*args, **kwargs)

    return wrapper


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request."""
    with Session(get_engine()) as session:
        yield session
