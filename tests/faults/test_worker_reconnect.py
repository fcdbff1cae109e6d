"""After the Temporal server restarts, the worker polls through a new connection at once (worker.ReconnectingWorker)
instead of waiting out the backoff its pollers built up while the server was down; the old worker retires."""

import asyncio

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import devstack
from core.db import get_engine
from core.settings import get_settings
from core.temporal import update_signing
from models.signals import SignalIn
from models.tables import NotificationRow
from services.signals import open_signal
from tests.support.stack import free_port, seed
from tests.support.waiting import eventually
from worker import Activities, ReconnectingWorker, build_worker


def pages(user_id: str, subject_id: str) -> list[str]:
    with Session(get_engine()) as session:
        return list(session.exec(select(NotificationRow.kind).where(NotificationRow.user_id == user_id,
                                                                    NotificationRow.subject_id == subject_id)))


async def test_the_worker_hands_over_to_a_new_one_when_the_server_is_back(sqlite_db, tmp_path):
    seed()
    port, ui_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"

    def start_server():
        return devstack.start_temporal(tmp_path / "temporal.db", port, ui_port, log_file=tmp_path / "temporal.log")

    async def connect() -> Client:
        return await Client.connect(address, data_converter=pydantic_data_converter, interceptors=update_signing(get_settings()))

    server = start_server()
    await devstack.wait_for_temporal(address, server)
    client = await connect()
    activities = Activities.build(client)
    worker = ReconnectingWorker(client, connect, lambda c: build_worker(c, activities=activities))
    first = worker.worker
    running = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: first.is_running, 30, what="the first worker to run")
        devstack.stop([("temporal", server)])
        await asyncio.sleep(2)
        server = start_server()
        await devstack.wait_for_temporal(address, server)

        await eventually(lambda: worker.handovers == 1, 30, what="the hand-over to a new worker")
        assert worker.worker is not first and worker.client is not client
        await eventually(lambda: first.is_shutdown, 30, what="the old worker to retire")
        with Session(sqlite_db) as session:  # the new worker serves
            created, _ = await open_signal(session, await connect(), SignalIn(family="renewal_risk", severity="critical",
                                                                            account_id="acme"), "test")
        await eventually(lambda: "page" in pages("lee", created.id), 30, what="the new signal's page")
        assert worker.handovers == 1  # a server that stays up is not an outage
    finally:
        await worker.shutdown()
        await running
        devstack.stop([("temporal", server)])
