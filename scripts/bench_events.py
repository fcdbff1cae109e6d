"""Benchmark Layer I: events ingested per second, and event → signal-paged latency (median, p95).

Batches of 100 (issue 12's target: at least 1,000 events/s stored and rescored) are measured twice: in-process
(`services.events.store_and_score`, the route's database work) with 20 and with 100 accounts per batch (the worst
case: every event a different account), and through `POST /api/v1/events/batch`. Runs everything in-process on this
machine: a Temporal dev server (in memory), a worker, the API over ASGI and a SQLite database in a temporary folder.
Usage: .venv/bin/python scripts/bench_events.py [--events 5000] [--pages 40]
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

from tests.support.stack import ADMIN_TOKEN  # noqa: E402


TARGET_EVENTS_PER_SECOND = 1000


def usage(account_id: str, at: datetime, users: int) -> dict:
    return {"kind": "product_usage", "account_id": account_id, "occurred_at": at.isoformat(), "active_users": users}


async def store_and_score_rate(prefix: str, accounts: int, total_events: int, batch_size: int, start: datetime,
                               http: httpx.AsyncClient) -> tuple[float, float]:
    """Events/s (wall and CPU) of `store_and_score` over batches spread across `accounts` accounts, each batch in
    its own session as a request has."""
    from pydantic import TypeAdapter
    from sqlmodel import Session

    from core.db import get_engine
    from models.events import AccountEvent
    from services.events import store_and_score

    team = {"ae": "alex", "csm": "casey", "csm_lead": "lee"}
    for i in range(accounts):
        body = {"name": f"{prefix}-{i}", "arr": 100_000, "motion": "academic", "team": team}
        await http.put(f"/api/v1/accounts/{prefix}-{i}", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    adapter = TypeAdapter(list[AccountEvent])
    raw = [usage(f"{prefix}-{i % accounts}", start + timedelta(hours=i), 300) for i in range(total_events)]
    batches = [adapter.validate_python(raw[i:i + batch_size]) for i in range(0, total_events, batch_size)]
    began, began_cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        with Session(get_engine()) as session:
            store_and_score(session, batch)
    return total_events / (time.perf_counter() - began), total_events / (time.process_time() - began_cpu)


async def main(total_events: int, batch_size: int, pages: int) -> None:
    from sqlmodel import Session, select

    from core.db import get_engine, migrate, reset_engine
    from core.temporal import set_temporal_client
    from models.tables import NotificationRow
    from tests.support.stack import start_dev_server, seed
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
        in_process = {n: store_and_score_rate(f"inproc{n}", n, total_events, batch_size, start, http) for n in (20, 100)}
        for n in in_process:
            in_process[n] = await in_process[n]

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
    def verdict(rate: float) -> str:
        return "ok" if rate >= TARGET_EVENTS_PER_SECOND else f"under the {TARGET_EVENTS_PER_SECOND} events/s target"

    for n, (rate, cpu_rate) in in_process.items():
        print(f"store + rescore in-process, batches of {batch_size} over {n} accounts: {rate:.0f} events/s "
              f"(cpu: {cpu_rate:.0f}/s)  {verdict(rate)}")
    print(f"POST /events/batch, batches of {batch_size} over 20 accounts: {total_events} events in {total_events / batch_rate:.1f}s "
          f"= {batch_rate:.0f} events/s (stored, rescored, definitions evaluated)  {verdict(batch_rate)}")
    print(f"ingest, one event per request: {single_rate:.0f} events/s")
    print(f"event → signal paged ({pages} champion departures): median {statistics.median(latencies):.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch, args.pages))
