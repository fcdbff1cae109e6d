"""What the fixtures build on: a database with the defaults and the demo directory, Temporal servers, the API stack."""

import asyncio
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import tests.support.environment  # noqa: F401, I001  (first: the suite's settings, before Pillar reads them)
import httpx
from sqlmodel import Session
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import devstack
from core.db import get_engine, migrate, reset_engine
from core.seed import load_default_config, load_demo_directory
from core.settings import get_settings
from core.temporal import find_binary, update_signing
from tests.support.loop_guard import LoopGuard
from workflows import search_attributes as sa

ADMIN_TOKEN = "test-admin-token-0123456789"
PG_SERVER_URL = os.environ.get("PILLAR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def use_database(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PILLAR_ADMIN_TOKEN", ADMIN_TOKEN)
    reset_engine()
    migrate()


def seed(admin_token: str = ADMIN_TOKEN) -> dict[str, str]:
    """Default config and the demo directory; returns each demo user's token."""
    with Session(get_engine()) as session:
        load_default_config(session)
        return load_demo_directory(session, admin_token)


async def register_search_attributes(client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in sa.ALL},
        )
    )


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def process_stack(log_file, monkeypatch, workers: int = 1, api_workers: int = 1) -> AsyncIterator[
        tuple[WorkflowEnvironment, str, list[tuple[str, subprocess.Popen]]]]:
    """What `make run` starts, over the test's database: a dev server, then `workers` worker processes and the API
    (uvicorn, `api_workers` processes) as subprocesses, logging to `log_file`; yields the server, the API's base
    URL and the processes, once /healthz answers."""
    env = await start_dev_server()
    port = free_port()
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("PUBLIC_URL", f"http://127.0.0.1:{port}")
    children: list[tuple[str, subprocess.Popen]] = []
    log = open(log_file, "wb")
    try:
        for n in range(1, workers + 1):
            children.append((f"worker-{n}", devstack.spawn(devstack.worker_command(), stdout=log, stderr=subprocess.STDOUT)))
        children.append(("api", devstack.spawn(devstack.api_command("127.0.0.1", port, workers=api_workers),
                                               stdout=log, stderr=subprocess.STDOUT)))
        base_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(devstack.wait_for_health, f"{base_url}/healthz", children, 40.0)
        yield env, base_url, children
    finally:
        devstack.stop(children)
        log.close()
        await env.shutdown()
