"""The database engines and sessions, migrations by Alembic.

Workers, the CLI and scripts use the synchronous engine. The API process uses the asynchronous one (aiosqlite,
psycopg's async driver): its routes hand their synchronous service code to `in_session`, which runs it through
`AsyncSession.run_sync`, so every query awaits its I/O and the event loop never waits on the database."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, TypeVar

import anyio
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import Session, create_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


T = TypeVar("T")
HEAVY_WORK = asyncio.Semaphore(get_settings().api_heavy_work_slots)  # binds to the running loop on first use


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    settings = get_settings()
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": settings.database_busy_timeout},
                               pool_timeout=settings.database_pool_timeout)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow, pool_timeout=settings.database_pool_timeout)


def async_url(url: str) -> str:
    """The same database through its asyncio driver."""
    scheme, _, rest = url.partition("://")
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgres"):
        return f"postgresql+psycopg_async://{rest}"
    return url


def make_async_engine(url: str, **options: Any) -> AsyncEngine:
    """A bounded pool: a request that cannot get a connection within `database_pool_timeout` fails (503), it never
    queues for ever. `options` replace the pool (the health probe connects with its own NullPool)."""
    settings = get_settings()
    pool = options or {"pool_size": settings.database_pool_size, "max_overflow": settings.database_max_overflow,
                       "pool_timeout": settings.database_pool_timeout}
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(async_url(url), connect_args={"timeout": settings.database_busy_timeout}, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(async_url(url), pool_pre_ping=True, **pool)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a process that dies loses nothing committed
    # (only a power cut can roll back the last commits); PostgreSQL is the production database.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_async_engine() -> AsyncEngine:
    return make_async_engine(get_settings().database_url)


def reset_engine() -> None:
    """Forget the cached settings and engines (tests switch databases with this)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    if get_async_engine.cache_info().currsize:
        get_async_engine().sync_engine.dispose(close=False)  # its connections belong to a loop: let them go with it
    get_engine.cache_clear()
    get_async_engine.cache_clear()
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
            # pysqlite begins lazily; take the write lock now, before Alembic reads the version. Another process's
            # migration (a backfill) can hold it far longer than a request would wait.
            connection.exec_driver_sql("PRAGMA busy_timeout = 120000")
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


def insert_missing(session: Session, table: type, rows: list[dict]) -> None:
    """INSERT the rows whose key is not there yet (ON CONFLICT DO NOTHING): two writers of the same new row at once
    both succeed, and the row is written once."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    session.execute(insert(table).on_conflict_do_nothing(), rows)


def get_session() -> Iterator[Session]:
    """FastAPI dependency for sync routes (FastAPI runs them in its threadpool): one session per request."""
    with Session(get_engine()) as session:
        yield session


async def get_async_session() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency for async routes: one asyncio session per request."""
    async with AsyncSession(get_async_engine(), expire_on_commit=False) as session:
        yield session


async def in_session(session: Session | AsyncSession, work: Callable[..., T], *args: Any) -> T:
    """Run synchronous database code `work(session, *args)` on either kind of session. On an AsyncSession it runs
    through the asyncio driver, so services written once serve the API (async) and the worker and CLI (sync)."""
    if isinstance(session, AsyncSession):
        result = await session.run_sync(work, *args)
        await session.commit()  # ends the transaction: the connection goes back to the pool before any Temporal call
        return result
    return work(session, *args)


async def in_session_threaded(session: Session | AsyncSession, work: Callable[..., T], *args: Any) -> T:
    """`in_session` for CPU-heavy work (scoring a batch, a sweep of the book): on an AsyncSession it runs in the
    threadpool, on a sync session of its own (`work` commits what it writes), so the event loop goes on meanwhile.
    At most `api_heavy_work_slots` run at once per process (they write: more would only queue on the database's
    locks); a request that waits longer than the pool timeout for a slot is a 503."""
    if not isinstance(session, AsyncSession):
        return work(session, *args)

    def run() -> T:
        with Session(get_engine()) as own:
            return work(own, *args)

    settings = get_settings()
    try:
        async with asyncio.timeout(settings.database_pool_timeout):
            await HEAVY_WORK.acquire()
    except TimeoutError as error:
        raise PoolTimeout("every slot for heavy database work is busy") from error
    try:
        return await anyio.to_thread.run_sync(run)
    finally:
        HEAVY_WORK.release()
