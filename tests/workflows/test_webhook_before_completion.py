"""A workflow that completes while one of its webhook deliveries is still retrying waits for it (bounded): a completed
workflow's pending activities are dropped, and the delivery with them (issue 14, item 7)."""

import asyncio

import httpx
from sqlmodel import Session

from core.db import get_engine
from core.temporal import run_update
from models.signals import AcknowledgeInput, SignalIn, SignalStatus
from models.tasks import OutcomeIn, TaskIn
from services.signals import open_signal, signal_handle
from services.tasks import add_task, set_outcome
from tests.support.db import actor, set_webhook
from tests.support.histories import record_history
from tests.support.stack import seed
from worker import Activities, build_worker
from workflows.signal import SignalWorkflow


class FlakyReceiver:
    """Refuses the first delivery, takes the second (the test double at the HTTP edge)."""

    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.refused = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(503 if not self.attempts else 204)
        if self.attempts[-1] == 503:
            self.refused.set()
        return httpx.Response(self.attempts[-1])


async def test_a_signal_resolved_while_its_page_is_retrying_completes_after_the_delivery(ts_env, sqlite_db):
    seed()
    set_webhook("casey", "https://hooks.example.com/casey")
    receiver = FlakyReceiver()
    http = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    async with build_worker(ts_env.client, activities=Activities.build(ts_env.client, http)):
        with Session(get_engine()) as session:
            created, _ = await open_signal(session, ts_env.client,
                                           SignalIn(family="adoption_decay", severity="warning", account_id="globex"), "test")
            handle = signal_handle(ts_env.client, created.id)
            await asyncio.wait_for(receiver.refused.wait(), 20)  # the page's delivery failed once: a retry is due

            who = actor("casey", "csm")
            await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=who))
            task = await add_task(session, ts_env.client, created.id, TaskIn(template_key="adoption_enablement"), who)
            await set_outcome(session, ts_env.client, task.id, OutcomeIn(outcome="renewed"), who)
        result = await handle.result()
        await record_history(handle, "signal_resolved_while_its_page_retried")
    await http.aclose()
    assert result.status == SignalStatus.resolved
    assert receiver.attempts == [503, 204]  # the retry ran before the workflow completed
