"""Benchmark the manager's stuck view: latency of GET /api/v1/play-runs?status=running&stuck=true (median, p95)
with N running plays, a third of them overdue.

Runs everything in-process on this machine: a Temporal dev server (in memory), a worker, the API over ASGI and a
SQLite database in a temporary folder.  Usage: .venv/bin/python scripts/bench_stuck_view.py [--runs 300] [--requests 200]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(runs: int, requests: int) -> None:
    from sqlmodel import Session, func, select

    from core.db import get_engine, migrate, reset_engine
    from core.temporal import set_temporal_client
    from models.tables import PlayRunRow
    from tests.support.plays import probe_library, start_runs
    from tests.support.stack import ADMIN_TOKEN, seed, start_dev_server
    from worker import build_worker

    env = await start_dev_server()
    folder = Path(tempfile.mkdtemp())
    os.environ.update(DATABASE_URL=f"sqlite:///{folder}/bench.db", PILLAR_ADMIN_TOKEN=ADMIN_TOKEN)
    reset_engine()
    migrate()
    seed()
    set_temporal_client(env.client)
    from api.main import app

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    worker = build_worker(env.client)
    worker_task = asyncio.create_task(worker.run())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        team = {"csm": "casey", "ae": "alex", "csm_lead": "lee"}
        await http.put("/api/v1/accounts/bench", json={"name": "Bench", "arr": 1, "team": team}, headers=auth)
        library = probe_library(folder / "plays")
        began = time.perf_counter()
        await start_runs(env.client, library, "stuck_probe_fast", "bench", runs // 3)
        await start_runs(env.client, library, "stuck_probe_slow", "bench", runs - runs // 3)
        started = time.perf_counter() - began
        while True:
            with Session(get_engine()) as session:
                if session.exec(select(func.count()).select_from(PlayRunRow)).one() >= runs:
                    break
            await asyncio.sleep(0.5)
        published = time.perf_counter() - began
        await asyncio.sleep(2)

        latencies, stuck = [], 0
        for _ in range(requests):
            t = time.perf_counter()
            response = await http.get("/api/v1/play-runs", params={"status": "running", "stuck": "true", "limit": 500}, headers=auth)
            latencies.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.text
            stuck = len(response.json())
    await worker.shutdown()
    await worker_task
    await env.shutdown()

    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"running plays:           {runs} (started in {started:.1f} s, all in the read model after {published:.1f} s)")
    print(f"stuck (overdue) plays:   {stuck}")
    print(f"GET /api/v1/play-runs?status=running&stuck=true, {requests} requests over ASGI, SQLite:")
    print(f"  median {statistics.median(latencies):.1f} ms   p95 {p95:.1f} ms   max {latencies[-1]:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.requests))
