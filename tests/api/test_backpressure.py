"""Overload and outages answer at once, in the error shape, with Retry-After: nothing hangs, /healthz stays quick."""

import asyncio
import time

import httpx
import pytest
from sqlalchemy import text

from api.backpressure import Backpressure
from api.main import create_app
from core.db import get_async_engine, reset_engine
from core.settings import get_settings
from tests.support.stack import ADMIN_TOKEN, seed


def assert_retry_later(response: httpx.Response, status: int = 503, *words: str) -> None:
    assert response.status_code == status, response.text
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "unavailable" and all(w in error["message"] for w in words), error


async def test_past_the_in_flight_limit_a_request_is_refused_after_a_bounded_wait_and_healthz_is_never_queued():
    release = asyncio.Event()

    async def slow_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = Backpressure(slow_app, max_in_flight=2, queue_timeout=0.2, retry_after=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://busy.test") as http:
        held = [asyncio.create_task(http.get("/api/v1/signals")) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert app.in_flight == 2
        started = time.perf_counter()
        refused = await http.get("/api/v1/signals")
        assert 0.15 < time.perf_counter() - started < 2
        assert_retry_later(refused, 503, "busy")
        assert refused.headers["Retry-After"] == "3"

        healthz = asyncio.create_task(http.get("/healthz"))  # passes the limit: answered by the app itself
        await asyncio.sleep(0.05)
        assert app.in_flight == 2 and not healthz.done()  # (the stand-in app holds it like the rest)
        release.set()
        assert [r.status_code for r in await asyncio.gather(*held, healthz)] == [200, 200, 200]
        assert app.in_flight == 0


async def test_an_exhausted_database_pool_is_a_503_after_the_pool_timeout(sqlite_db, monkeypatch):
    seed()
    monkeypatch.setenv("DATABASE_POOL_SIZE", "1")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "0.3")
    reset_engine()
    app = create_app()
    async with get_async_engine().connect() as holding_the_only_connection:
        await holding_the_only_connection.execute(text("SELECT 1"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test") as http:
            started = time.perf_counter()
            response = await http.get("/api/v1/accounts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert time.perf_counter() - started < 3
    assert_retry_later(response, 503, "database")
    reset_engine()


async def test_an_update_nobody_runs_is_a_503_after_the_update_timeout_not_a_hanging_request(api, monkeypatch):
    """A worker outage: the signal's workflow never accepts the acknowledgement."""
    settings = get_settings()
    monkeypatch.setattr(settings, "temporal_task_queue", "nobody-polls-this-queue")
    created = await api.http.post("/api/v1/signals", json={"family": "renewal_risk", "severity": "critical",
                                                           "account_id": "acme"}, headers=api.auth("admin"))
    assert created.status_code == 202
    monkeypatch.setattr(settings, "update_timeout", 1.0)
    started = time.perf_counter()
    response = await api.http.post(f"/api/v1/signals/{created.json()['id']}/acknowledge", headers=api.auth("lee"))
    assert time.perf_counter() - started < 4
    assert_retry_later(response, 503, "did not finish this action within 1s")
    await api.client.get_workflow_handle(created.json()["workflow_id"]).terminate("test over")


async def test_healthz_answers_in_milliseconds_while_requests_queue(api):
    await api.http.get("/healthz")  # the first probe
    burst = [asyncio.create_task(api.http.get("/api/v1/signals", headers=api.auth("maya"))) for _ in range(40)]
    started = time.perf_counter()
    health = await api.http.get("/healthz")
    took = time.perf_counter() - started
    await asyncio.gather(*burst)
    assert health.status_code == 200 and health.json() == {"status": "ok", "temporal": "ok", "database": "ok"}
    assert took < 1.0, f"/healthz took {took:.3f}s behind a burst"
