"""Nothing is lost when the worker dies mid-flight or the Temporal server restarts."""

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta

from sqlmodel import Session, select
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from core import config_store
from core.db import get_engine
from core.seed import DEFAULT_ROUTING
from core.settings import get_settings
from core.temporal import find_binary, update_signing
from models.signals import SignalIn, SignalStatus
from models.tables import NotificationRow
from services.signals import open_signal, signal_handle
from tests.support.stack import seed
from tests.support.waiting import eventually
from workflows import search_attributes as sa
from workflows.signal import SignalWorkflow

SLOW_PING = {"family": "durability_ping", "severity": "info", "owners": ["csm"], "sla": "PT6S",
             "escalation": [{"after": "PT0S", "to": "manager"}]}


async def start_server(db_file) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        dev_server_database_filename=str(db_file),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        interceptors=update_signing(get_settings()),
    )


def start_worker_process(address: str) -> subprocess.Popen:
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "DATABASE_URL": get_settings().database_url}
    return subprocess.Popen([sys.executable, "-m", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def inbox_kinds(user_id: str, subject_id: str) -> list[str]:
    with Session(get_engine()) as session:
        rows = session.exec(
            select(NotificationRow).where(NotificationRow.user_id == user_id, NotificationRow.subject_id == subject_id)
        )
        return [row.kind for row in rows]


async def test_a_killed_worker_and_a_restarted_server_lose_nothing(sqlite_db, tmp_path):
    seed()
    with Session(sqlite_db) as session:
        config_store.append(session, "routing", {"rules": DEFAULT_ROUTING["rules"] + [SLOW_PING]}, created_by="test")

    env = await start_server(tmp_path / "temporal.db")
    worker = start_worker_process(env.client.service_client.config.target_host)
    try:
        with Session(sqlite_db) as session:
            created, _ = await open_signal(
                session, env.client, SignalIn(family="durability_ping", severity="info", account_id="acme"), "test"
            )
        await eventually(lambda: inbox_kinds("casey", created.id) == ["page"], timeout=30)
    finally:
        worker.send_signal(signal.SIGKILL)  # the worker dies without any chance to clean up
        worker.wait()
    await env.shutdown()  # and the server goes down while the SLA timer is pending

    await asyncio.sleep(1)
    env = await start_server(tmp_path / "temporal.db")
    worker = start_worker_process(env.client.service_client.config.target_host)
    try:
        handle = signal_handle(env.client, created.id)

        async def escalated():
            state = await handle.query(SignalWorkflow.state)
            return state if state.escalation_level == 1 else None

        state = await eventually(escalated, timeout=60)
        assert state.status == SignalStatus.escalated and state.escalated_to == ["lee"]
        assert [e.type for e in state.timeline][:2] == ["created", "paged"]
        lapsed = next(e for e in state.timeline if e.type == "sla_lapsed")
        assert lapsed.at >= state.sla_due_at == state.timeline[0].at + timedelta(seconds=6), state.timeline
        assert inbox_kinds("casey", created.id) == ["page"]  # never paged twice
        await eventually(lambda: inbox_kinds("lee", created.id) == ["escalation"], timeout=30)
    finally:
        worker.terminate()
        worker.wait()
        await env.shutdown()
