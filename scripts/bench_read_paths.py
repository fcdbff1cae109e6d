"""Benchmark the read paths that must stay flat with the book: p50/p95 of the inbox (page and its live refresh), the
board, the stuck view, a signal list by owner and the failed-executions list, at 1k and 10k running plays and open
signals.

Everything in-process on this machine: the API over ASGI on a SQLite database in a temporary folder, the book
written straight into the read models (scripts/book.py), and a Temporal dev server (in memory) holding some failed
executions for the ops list. Usage:
    .venv/bin/python scripts/bench_read_paths.py [--sizes 1000 10000] [--requests 30] [--failed 60] [--json]
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_TOKEN = "bench-admin-token-0123456789"
FAILING_QUEUE = "bench-failing"


def percentiles(latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    return {"p50": round(statistics.median(latencies), 1), "p95": round(p95, 1)}


async def measure(http: httpx.AsyncClient, path: str, requests: int, headers=None) -> dict:
    latencies, size = [], 0
    await http.get(path, headers=headers or {})  # warm up (template compilation, statement caches)
    for _ in range(requests):
        began = time.perf_counter()
        response = await http.get(path, headers=headers or {})
        latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        size = len(response.content)
    return {**percentiles(latencies), "kib": round(size / 1024, 1)}


def fresh_database(folder: Path, size: int) -> dict[str, str]:
    from core.db import migrate, reset_engine, session_scope
    from scripts.book import seed_book
    from tests.support.stack import seed

    os.environ.update(DATABASE_URL=f"sqlite:///{folder}/book-{size}.db", PILLAR_ADMIN_TOKEN=ADMIN_TOKEN)
    reset_engine()
    migrate()
    tokens = seed(ADMIN_TOKEN)
    with session_scope() as session:
        seed_book(session, runs=size, signals=size, owner_id="casey")
    return tokens


@asynccontextmanager
async def signed_in(app, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        response = await http.post("/sign-in", data={"token": token, "next": "/inbox"}, headers={"Origin": "http://bench"})
        assert response.status_code in (200, 303), response.text[:300]
        yield http


async def bench_size(app, folder: Path, size: int, requests: int) -> dict[str, dict]:
    began = time.perf_counter()
    tokens = fresh_database(folder, size)
    seeded = time.perf_counter() - began
    live = {"X-Pillar-Live": "1"}
    api = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    figures = {}
    async with signed_in(app, tokens["casey"]) as casey:
        figures["GET /inbox (casey)"] = await measure(casey, "/inbox", requests)
        figures["GET /inbox/live (casey)"] = await measure(casey, "/inbox/live", requests, live)
    async with signed_in(app, tokens["lee"]) as lee:
        figures["GET /inbox/live (lee: escalations)"] = await measure(lee, "/inbox/live", requests, live)
    async with signed_in(app, tokens["maya"]) as maya:
        figures["GET /board"] = await measure(maya, "/board", requests)
        figures["GET /board/live"] = await measure(maya, "/board/live", requests, live)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=api) as http:
            figures["GET /api/v1/play-runs?status=running&stuck=true"] = await measure(
                http, "/api/v1/play-runs?status=running&stuck=true", requests)
            figures["GET /api/v1/signals?owner_id=casey"] = await measure(http, "/api/v1/signals?owner_id=casey", requests)
            figures["GET /api/v1/ops/executions?status=failed"] = await measure(
                http, "/api/v1/ops/executions?status=failed", requests)
    print(f"  book of {size}: seeded in {seeded:.1f} s", file=sys.stderr)
    return figures


@activity.defn(name="post_to_crm")
async def post_to_crm(account_id: str) -> None:
    raise ApplicationError(f"CRM refused the update for {account_id}: 502 Bad Gateway", non_retryable=True)


@workflow.defn(name="BenchFailingWorkflow")
class FailingWorkflow:
    """Fails in an activity, as a bad deploy would leave an execution (run unsandboxed: this is a script)."""

    @workflow.run
    async def run(self, account_id: str) -> None:
        await workflow.execute_activity(post_to_crm, account_id, start_to_close_timeout=timedelta(seconds=5),
                                        retry_policy=RetryPolicy(maximum_attempts=1))


async def fail_executions(client, count: int) -> None:
    async with Worker(client, task_queue=FAILING_QUEUE, workflows=[FailingWorkflow], activities=[post_to_crm],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        handles = [await client.start_workflow(FailingWorkflow.run, "acme", id=f"bench-fail-{uuid.uuid4().hex[:10]}",
                                               task_queue=FAILING_QUEUE) for _ in range(count)]
        for handle in handles:
            try:
                await handle.result()
            except WorkflowFailureError:
                pass
    while len([e async for e in client.list_workflows("ExecutionStatus = 'Failed'")]) < count:
        await asyncio.sleep(0.5)  # visibility is eventually consistent


async def main(sizes: list[int], requests: int, failed: int, as_json: bool) -> None:
    from core.temporal import set_temporal_client
    from tests.support.stack import start_dev_server

    logging.getLogger("temporalio.activity").setLevel(logging.CRITICAL)  # the failures are on purpose
    folder = Path(tempfile.mkdtemp())
    env = await start_dev_server()
    try:
        set_temporal_client(env.client)
        await fail_executions(env.client, failed)
        from api.main import app

        results = {size: await bench_size(app, folder, size, requests) for size in sizes}
    finally:
        set_temporal_client(None)
        await env.shutdown()
    if as_json:
        print(json.dumps({"failed_executions": failed, "requests": requests, "results": results}, indent=2))
        return
    print(f"p50 / p95 in ms over {requests} requests each; SQLite, in-process ASGI; {failed} failed executions "
          f"on a Temporal dev server; N running plays and N open signals (a third overdue, a third escalated)")
    print(f"  {'path':<52}" + "".join(f"{'N=' + str(size):>22}" for size in sizes))
    for path in results[sizes[0]]:
        cells = "".join(f"{results[s][path]['p50']:>10.1f} / {results[s][path]['p95']:>7.1f}   " for s in sizes)
        print(f"  {path:<52}{cells}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--failed", type=int, default=60)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.requests, arguments.failed, arguments.json))
