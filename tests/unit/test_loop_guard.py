"""The loop guard that every API test runs under (tests/conftest.py: `api`) catches what blocks the event loop."""

import time
import traceback

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session

from core.db import AsyncSession, get_async_engine, get_engine
from tests.support.loop_guard import LoopGuard, _starting_a_thread


def blocking_app() -> FastAPI:
    app = FastAPI()

    @app.get("/sync-db-in-async-route")
    async def sync_db_in_async_route():
        with Session(get_engine()) as session:
            return {"one": session.exec(text("SELECT 1")).one()[0]}

    @app.get("/sleeps")
    async def sleeps():
        time.sleep(0.25)
        return {}

    @app.get("/threadpool-route")
    def threadpool_route():  # FastAPI runs a sync route in its threadpool: the loop goes on
        with Session(get_engine()) as session:
            session.exec(text("SELECT 1"))
        time.sleep(0.25)
        return {}

    @app.get("/async-db")
    async def async_db():
        async with AsyncSession(get_async_engine()) as session:
            return {"one": (await session.exec(text("SELECT 1"))).one()[0]}

    return app


async def test_the_guard_reports_sync_database_calls_and_stalls_on_the_loop(sqlite_db):
    guard = LoopGuard(blocking_app(), watched=(__file__,))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://guard.test") as http:
        for path in ("/threadpool-route", "/async-db"):
            assert (await http.get(path)).status_code == 200
        assert await guard.take() == []

        await http.get("/sync-db-in-async-route")
        found = await guard.take()
        assert any("synchronous database call on the event loop during GET /sync-db-in-async-route" in v for v in found)

        await http.get("/sleeps")
        found = await guard.take()
        assert any(v.startswith("event loop blocked") and "GET /sleeps" in v for v in found), found
    await guard.stop()


def test_a_stall_in_starting_a_threadpool_thread_is_the_schedulers_not_the_apps():
    def stack(*frames):
        return traceback.StackSummary.from_list([traceback.FrameSummary(file, 1, name) for file, name in frames])

    route = ("/work/main/api/body_limit.py", "__call__")
    assert _starting_a_thread(stack(route, ("/usr/lib/python3.11/threading.py", "start"),
                                    ("/usr/lib/python3.11/threading.py", "wait")))
    assert not _starting_a_thread(stack(route, ("/work/main/services/signals.py", "build_start")))
    assert not _starting_a_thread(stack(("/usr/lib/python3.11/threading.py", "start"), route,
                                        ("/work/main/services/signals.py", "build_start"), ("x.py", "y")))
