"""The suite's fixtures, all of them here: databases (SQLite, PostgreSQL), Temporal (time-skipping and dev server),
a worker, the API. Helpers that test modules share live in tests/support/ (by topic); a test module imports from
there, never from another test module nor from this file (tests/unit/test_test_layout.py checks it).

Where a test goes, by the heaviest thing it needs:
- unit/       pure logic, and the database layer on SQLite and PostgreSQL (`sqlite_db`, `postgres_db`, `any_db`):
              no Temporal server.
- workflows/  workflows on the time-skipping server (`ts_env`, `ts_worker`), and the recorded histories replayed
              (tests/histories/, `make histories`).
- api/        the HTTP API on a real dev server and worker (`api`, one per session), and whole stacks started as
              subprocesses (dev stack, scale-out, tracing).
- browser/    the pages in Chromium driven by Playwright.
- faults/     a worker killed or stopped mid-flight, a Temporal server restarted.
No test module sits directly in tests/."""

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import tests.support.environment  # noqa: F401, I001  (first: the suite's settings, before Pillar reads them)
from core.db import get_engine, migrate, reset_engine
from core.settings import get_settings
from core.temporal import find_binary, set_temporal_client, update_signing
from tests.support.faults import table as fault_table
from tests.support.loop_guard import LoopGuard
from tests.support.paths import PROJECT_ROOT
from tests.support.stack import (ADMIN_TOKEN, PG_SERVER_URL, ApiStack, register_search_attributes, seed, start_dev_server,
                                 use_database)  # importing it sets the suite's outbound defaults (loopback receivers)

FAULT_REPORT = pytest.StashKey[list]()


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
    A test fails when one of its requests blocked the event loop (tests/support/loop_guard.py)."""
    if get_settings().database_url != api_stack.database_url:
        os.environ["DATABASE_URL"] = api_stack.database_url
        reset_engine()
    set_temporal_client(api_stack.client)
    get_settings()  # read the environment now, not inside the first request (another fixture may have reset it)
    await api_stack.loop_guard.take()
    yield api_stack
    blocked = await api_stack.loop_guard.take()
    assert not blocked, "a request blocked the event loop:\n" + "\n".join(blocked)


@pytest.fixture
def own_task_queue():
    """New play runs start on a task queue of their own, so the test chooses the worker that serves them."""
    queue = f"pillar-ops-retry-{uuid.uuid4().hex[:8]}"
    saved = os.environ.get("TEMPORAL_TASK_QUEUE")
    os.environ["TEMPORAL_TASK_QUEUE"] = queue
    get_settings.cache_clear()
    yield queue
    if saved is None:
        os.environ.pop("TEMPORAL_TASK_QUEUE", None)
    else:
        os.environ["TEMPORAL_TASK_QUEUE"] = saved
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def fault_report(request) -> list[dict]:
    """The fault scenarios' counts, one dict per scenario: printed at the end of the session (with or without -s)
    and kept in .pillar/fault-scenarios.json for the closing note."""
    return request.config.stash.setdefault(FAULT_REPORT, [])


def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(FAULT_REPORT, None)
    if not rows:
        return
    path = PROJECT_ROOT / ".pillar" / "fault-scenarios.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    terminalreporter.write_sep("-", f"fault scenarios (also in {path})")
    for line in fault_table(rows):
        terminalreporter.write_line(line)
