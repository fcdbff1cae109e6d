"""A worker asked to stop (SIGTERM: `docker compose stop`, a deploy) lets the activities it is running finish."""

import asyncio

import httpx
from sqlmodel import Session

from core.db import get_engine
from models.signals import SignalIn
from services.signals import open_signal
from tests.support.db import set_webhook
from tests.support.stack import seed
from worker import Activities, build_worker


class SlowReceiver:
    """A webhook receiver that takes a second to answer (the test double at the HTTP edge; real deliveries are
    covered against a real server in the notification tests)."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.answered: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.started.set()
        await asyncio.sleep(1.0)
        self.answered.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)


async def test_a_stopping_worker_lets_a_running_webhook_delivery_finish(ts_env, sqlite_db):
    seed()
    set_webhook("lee", "https://hooks.example.com/lee")
    receiver = SlowReceiver()
    http = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    worker = build_worker(ts_env.client, activities=Activities.build(ts_env.client, http))
    running = asyncio.create_task(worker.run())
    with Session(get_engine()) as session:
        await open_signal(session, ts_env.client, SignalIn(family="renewal_risk", severity="critical", account_id="acme"),
                          created_by="test")
    await asyncio.wait_for(receiver.started.wait(), 20)

    await worker.shutdown()  # what the worker's SIGTERM handler does
    await running
    await http.aclose()
    assert len(receiver.answered) == 1  # delivered, not cancelled half-way
