"""Shared fixtures: databases (SQLite, PostgreSQL), Temporal (time-skipping and dev server), a worker, the API."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

# Set before Pillar's modules are imported (one of them may read the settings). The suite's webhook receivers listen on this machine (http, loopback); tests/test_outbound.py checks the fence itself.
os.environ.setdefault("OUTBOUND_ALLOW_HTTP", "true")
os.environ.setdefault("OUTBOUND_ALLOW_LOOPBACK", "true")
os.environ.setdefault("PILLAR_SIGNING_KEY", "test-signing-key-0123456789abcdef")

from core.db import get_engine, migrate, reset_engine
from core.seed import load_default_config, load_demo_directory
from core.settings import get_settings
from models.tables import NotificationRow
from services.directory import actor_for
from core.temporal import find_binary, set_temporal_client, update_signing
from tests.loop_guard import LoopGuard
from workflows import search_attributes as sa

ADMIN_TOKEN = "test-admin-token-0123456789"
PG_SERVER_URL = os.environ.get("PILLAR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def use_database(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PILLAR_ADMIN_TOKEN", ADMIN_TOKEN)
    reset_engine()
    migrate()


def actor(user_id: str, role: str):
    """The demo user as the workflows' Actor (with the people they manage)."""
    with Session(get_engine()) as session:
        return actor_for(session, user_id, role)


def inbox(user_id: str, subject_id: str) -> list[str]:
    """The kinds of notification `user_id` has had about `subject_id`, sorted."""
    with Session(get_engine()) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.user_id == user_id, NotificationRow.subject_id == subject_id))
        return sorted(r.kind for r in rows)


def seed(admin_token: str = ADMIN_TOKEN) -> dict[str, str]:
    """Default config and the demo directory; returns each demo user's token."""
    with Session(get_engine()) as session:
        load_default_config(session)
        return load_demo_directory(session, admin_token)


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch):
    use_database(monkeypatch, f"sqlite:///{tmp_path}/pillar.db")
    yield get_engine()
    reset_engine()


@pytest.fixture
def postgres_db(monkeypatch):
    """A fresh PostgreSQL database per test, dropped afterwards."""
    name = f"pillar_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    use_database(monkeypatch, PG_SERVER_URL.rsplit("/", 1)[0] + f"/{name}")
    yield get_engine()
    reset_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request):
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_db")


async def register_search_attributes(client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in sa.ALL},
        )
    )


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server, one per test (a shared one stops skipping reliably)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"), data_converter=pydantic_data_converter,
        interceptors=update_signing(get_settings()),
    )
    await register_search_attributes(env.client)
    set_temporal_client(env.client)
    yield env
    set_temporal_client(None)
    await env.shutdown()


@pytest.fixture
async def ts_worker(ts_env, sqlite_db):
    """A worker on the time-skipping server, over a fresh SQLite database with the defaults and demo directory."""
    from worker import build_worker

    seed()
    async with build_worker(
        ts_env.client, workflow_failure_exception_types=[Exception], max_cached_workflows=0
    ) as worker:
        yield worker


async def eventually(check, timeout: float = 20.0, interval: float = 0.2):
    """Retry `check` (sync or async) until it returns a truthy value: for eventually consistent views."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


class ApiStack:
    """A real Temporal dev server, a worker and the ASGI app, with the demo directory loaded."""

    def __init__(self, env: WorkflowEnvironment, http: httpx.AsyncClient, tokens: dict[str, str], database_url: str,
                 loop_guard: LoopGuard) -> None:
        self.env = env
        self.loop_guard = loop_guard
        self.database_url = database_url
        self.client = env.client
        self.http = http
        self.tokens = tokens

    def auth(self, user_id: str) -> dict[str, str]:
        token = ADMIN_TOKEN if user_id == "admin" else self.tokens[user_id]
        return {"Authorization": f"Bearer {token}"}


async def start_dev_server() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_extra_args=["--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"],
        interceptors=update_signing(get_settings()),
    )


@pytest.fixture(scope="session")
async def api_stack(tmp_path_factory) -> AsyncIterator[ApiStack]:
    from api.main import app
    from worker import build_worker

    env = await start_dev_server()
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "PILLAR_ADMIN_TOKEN", "TEMPORAL_ADDRESS")}
    os.environ.update(
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('api')}/pillar.db",
        PILLAR_ADMIN_TOKEN=ADMIN_TOKEN,
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
    )
    reset_engine()
    migrate()
    tokens = seed()
    set_temporal_client(env.client)
    worker = build_worker(env.client)
    worker_task = asyncio.create_task(worker.run())
    guard = LoopGuard(app)
    transport = httpx.ASGITransport(app=guard)  # it sends no lifespan events: run the app's startup here
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://pillar.test") as http:
        yield ApiStack(env, http, tokens, os.environ["DATABASE_URL"], guard)
    await guard.stop()
    await worker.shutdown()
    await worker_task
    set_temporal_client(None)
    await env.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_engine()


@pytest.fixture
async def api(api_stack) -> AsyncIterator[ApiStack]:
    """The session's API stack, pointed back at its own database and Temporal (other fixtures may switch them).
    A test fails when one of its requests blocked the event loop (tests/loop_guard.py)."""
    if get_settings().database_url != api_stack.database_url:
        os.environ["DATABASE_URL"] = api_stack.database_url
        reset_engine()
    set_temporal_client(api_stack.client)
    get_settings()  # read the environment now, not inside the first request (another fixture may have reset it)
    await api_stack.loop_guard.take()
    yield api_stack
    blocked = await api_stack.loop_guard.take()
    assert not blocked, "a request blocked the event loop:\n" + "\n".join(blocked)


HISTORIES_DIR = os.path.join(os.path.dirname(__file__), "histories")


async def record_history(handle, name: str) -> None:
    """With PILLAR_RECORD_HISTORIES=1 (`make histories`), keep this execution's history for the replay tests.

    Recorded histories are committed: CI replays every one of them against the current workflow code, so a
    change that would break executions already running fails CI. An existing file is never overwritten: it stands
    for executions of the code it was recorded with, which may still be running. To record the path a change
    adds, give it a new name."""
    path = os.path.join(HISTORIES_DIR, f"{name}.json")
    if os.environ.get("PILLAR_RECORD_HISTORIES") != "1" or os.path.exists(path):
        return
    history = await handle.fetch_history()
    os.makedirs(HISTORIES_DIR, exist_ok=True)
    with open(path, "w") as out:
        out.write(history.to_json())
