"""Benchmark Layer I: events ingested per second, and event → signal-paged latency (median, p95).

Runs everything in-process on this machine: a Temporal dev server (in memory), a worker, the API over ASGI and a
SQLite database in a temporary folder.  Usage: .venv/bin/python scripts/bench_events.py [--events 5000] [--pages 40]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def usage(account_id: str, at: datetime, users: int) -> dict:
    return {"kind": "product_usage", "account_id": account_id, "occurred_at": at.isoformat(), "active_users": users}


async def main(total_events: int, batch_size: int, pages: int) -> None:
    from sqlmodel import Session, select

    from core.db import get_engine, migrate, reset_engine
    from core.temporal import set_temporal_client
    from models.tables import NotificationRow
    from tests.conftest import ADMIN_TOKEN, start_dev_server, seed
    from worker import build_worker

    env = await start_dev_server()
    os.environ.update(DATABASE_URL=f"sqlite:///{tempfile.mkdtemp()}/bench.db", PILLAR_ADMIN_TOKEN=ADMIN_TOKEN)
    reset_engine()
    migrate()
    seed()
    set_temporal_client(env.client)
    from api.main import app

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    team = {"ae": "alex", "csm": "casey", "csm_lead": "lee"}
    worker = build_worker(env.client)
    worker_task = asyncio.create_task(worker.run())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        accounts = [f"bench-{i}" for i in range(20)]
        for account_id in accounts + [f"page-{i}" for i in range(pages)]:
            body = {"name": account_id, "arr": 100_000, "motion": "academic", "team": team}
            await http.put(f"/api/v1/accounts/{account_id}", json=body, headers=auth)

        start = datetime(2026, 1, 1, tzinfo=UTC)
        events = [usage(accounts[i % len(accounts)], start + timedelta(hours=i), 300) for i in range(total_events)]
        began = time.perf_counter()
        for i in range(0, len(events), batch_size):
            response = await http.post("/api/v1/events/batch", json={"events": events[i:i + batch_size]}, headers=auth)
            assert response.status_code == 201, response.text
        batch_rate = total_events / (time.perf_counter() - began)

        singles = 200
        began = time.perf_counter()
        for i in range(singles):
            event = usage(accounts[i % len(accounts)], start + timedelta(days=400, minutes=i), 300)
            assert (await http.post("/api/v1/events", json=event, headers=auth)).status_code == 201
        single_rate = singles / (time.perf_counter() - began)

        latencies = []
        for i in range(pages):
            account_id = f"page-{i}"
            event = {"kind": "contact_change", "account_id": account_id, "occurred_at": start.isoformat(),
                     "contact_id": "champ", "role": "champion", "change": "left"}
            sent = time.perf_counter()
            response = await http.post("/api/v1/events", json=event, headers=auth)
            signal_id = next(s["signal_id"] for s in response.json()["signals"] if s["family"] == "champion_departed")
            while True:
                with Session(get_engine()) as session:
                    paged = session.exec(select(NotificationRow.id).where(
                        NotificationRow.subject_id == signal_id, NotificationRow.kind == "page")).first()
                if paged:
                    break
                await asyncio.sleep(0.002)
            latencies.append((time.perf_counter() - sent) * 1000)

    await worker.shutdown()
    await worker_task
    await env.shutdown()
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"ingest, batches of {batch_size}: {total_events} events in {total_events / batch_rate:.1f}s = {batch_rate:.0f} events/s "
          f"(stored, rescored, definitions evaluated)")
    print(f"ingest, one event per request: {single_rate:.0f} events/s")
    print(f"event → signal paged ({pages} champion departures): median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch, args.pages))
