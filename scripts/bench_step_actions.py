"""Benchmark play-step actions: what an action adds to completing a step, how long a permanently failing one takes
to give up, how long an ops retry takes, and how fast ops lists the runs held up by a failed step.

Runs everything in-process on this machine: a Temporal dev server (in memory), a worker, the API over ASGI, a
SQLite database in a temporary folder and a local stand-in for the CRM's webhook.
Usage: .venv/bin/python scripts/bench_step_actions.py [--runs 20] [--failing 5]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIELDS = {
    "diagnose": {"root_cause": "champion left", "health_evidence": "health 72 → 28"},
    "exec_sponsor": {"sponsor_name": "Provost Ortega", "meeting_date": "2027-01-12"},
}
CRM = {"status": 201}


class Crm(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(CRM["status"])
        self.end_headers()

    def log_message(self, *args):
        pass


def ms(values: list[float]) -> str:
    values = sorted(values)
    return f"median {statistics.median(values) * 1000:.0f} ms, p95 {values[int(0.95 * (len(values) - 1))] * 1000:.0f} ms"


async def main(runs: int, failing: int) -> None:
    from core.db import migrate, reset_engine
    from core.temporal import set_temporal_client
    from tests.support.stack import ADMIN_TOKEN, seed, start_dev_server
    from worker import build_worker

    crm = ThreadingHTTPServer(("127.0.0.1", 0), Crm)
    Thread(target=crm.serve_forever, daemon=True).start()
    env = await start_dev_server()
    os.environ.update(DATABASE_URL=f"sqlite:///{tempfile.mkdtemp()}/bench.db", PILLAR_ADMIN_TOKEN=ADMIN_TOKEN,
                      CRM_WEBHOOK_URL=f"http://127.0.0.1:{crm.server_port}/crm")
    reset_engine()
    migrate()
    tokens = seed()
    set_temporal_client(env.client)
    from api.main import app

    def auth(user: str) -> dict:
        return {"Authorization": f"Bearer {tokens[user]}"}

    worker = build_worker(env.client)
    worker_task = asyncio.create_task(worker.run())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60) as http:

        async def step(run_id: str, key: str, who: str) -> tuple[float, dict]:
            began = time.perf_counter()
            response = await http.post(f"/api/v1/play-runs/{run_id}/steps/{key}/complete", json={"fields": FIELDS[key]},
                                       headers=auth(who))
            assert response.status_code == 200, response.text
            return time.perf_counter() - began, {s["key"]: s for s in response.json()["steps"]}[key]

        async def new_run() -> str:
            response = await http.post("/api/v1/play-runs", json={"play_key": "renewal_save", "account_id": "acme"},
                                       headers=auth("casey"))
            return response.json()["id"]

        plain, with_action = [], []
        for _ in range(runs):
            run_id = await new_run()
            took, _ = await step(run_id, "diagnose", "casey")
            plain.append(took)
            took, done = await step(run_id, "exec_sponsor", "lee")
            assert done["status"] == "done"
            with_action.append(took)
        print(f"complete a step without an action:           {ms(plain)}  ({runs} runs)")
        print(f"complete a step whose action logs to the CRM: {ms(with_action)}")

        CRM["status"] = 503
        gave_up, failed_runs = [], []
        for _ in range(failing):
            run_id = await new_run()
            await step(run_id, "diagnose", "casey")
            took, failed = await step(run_id, "exec_sponsor", "lee")
            assert failed["status"] == "failed"
            gave_up.append(took)
            failed_runs.append(run_id)
        print(f"complete while the CRM is down (3 attempts, 1 s then 2 s apart) → step failed: {ms(gave_up)}")

        ops = {"Authorization": f"Bearer {tokens['olga']}"}
        began = time.perf_counter()
        while True:
            listed = (await http.get("/api/v1/ops/executions", params={"failed_steps": "true"}, headers=ops)).json()
            if len(listed) >= failing:
                break
            await asyncio.sleep(0.1)
        print(f"visible to ops (GET /ops/executions?failed_steps=true) {time.perf_counter() - began:.2f} s after the last failure")
        lists = []
        for _ in range(10):
            began = time.perf_counter()
            await http.get("/api/v1/ops/executions", params={"failed_steps": "true"}, headers=ops)
            lists.append(time.perf_counter() - began)
        print(f"list {failing} runs held by a failed step, with their failures: {ms(lists)}")

        CRM["status"] = 201
        retries = []
        for run_id in failed_runs:
            began = time.perf_counter()
            response = await http.post(f"/api/v1/play-runs/{run_id}/steps/exec_sponsor/retry", json={"reason": "bench"},
                                       headers=ops)
            assert response.status_code == 200 and response.json()["steps"][1]["status"] == "done", response.text
            retries.append(time.perf_counter() - began)
        print(f"ops retry once the CRM is back → step done: {ms(retries)}")

    await worker.shutdown()
    await worker_task
    await env.shutdown()
    crm.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--failing", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.failing))
