"""Benchmark the pages that refresh themselves: the play board (page and live fragment) and a CSM's inbox fragment,
with N running Renewal Saves in the read model, a third of them overdue, every one with a step owned by the CSM.

The runs are written to the read model exactly as PlayWorkflow's activity writes them (no Temporal needed: these
pages read only the database). Usage: .venv/bin/python scripts/bench_pages.py [--runs 2000] [--requests 30]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def synthetic_run(play, index: int, now: datetime):
    from models.plays import PlayRun, RunStatus, RunStep, StepStatus

    started = now - timedelta(days=3, minutes=index)
    overdue = index % 3 == 0
    steps, owners = [], {"csm": "casey", "csm_lead": "lee", "ae": "alex"}
    for step in play.steps:
        ready = started + timedelta(hours=2) if step.depends_on == ["diagnose"] else started
        status = StepStatus.done if step.key == "diagnose" else StepStatus.blocked
        if step.depends_on == ["diagnose"]:
            status = StepStatus.ready
        due = ready + (timedelta(minutes=10) if overdue else step.due) if status != StepStatus.blocked else None
        steps.append(RunStep(key=step.key, title=step.title, owner_id=owners[step.owner_role], depends_on=step.depends_on,
                             status=status, ready_at=ready if status != StepStatus.blocked else None,
                             due_at=due, completed_at=ready if status == StepStatus.done else None,
                             completed_by="casey" if status == StepStatus.done else None, required_fields=step.required_fields))
    return PlayRun(id=f"run-bench-{index:05d}", workflow_id=f"play-run-bench-{index:05d}", play_key=play.key,
                   play_version=play.version, account_id=("acme", "globex", "initech")[index % 3], status=RunStatus.running,
                   started_at=started, steps=steps)


def measure(client, path: str, requests: int, headers=None) -> tuple[float, float, int]:
    latencies, size = [], 0
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path, headers=headers or {})
        latencies.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text[:500]
        size = len(response.content)
    latencies.sort()
    return statistics.median(latencies), latencies[max(0, int(round(0.95 * len(latencies))) - 1)], size


def main(runs: int, requests: int) -> None:
    folder = Path(tempfile.mkdtemp())
    os.environ.update(DATABASE_URL=f"sqlite:///{folder}/bench.db", PILLAR_ADMIN_TOKEN="bench-admin-token-0123456789")
    from fastapi.testclient import TestClient

    from activities.plays import PlayActivities
    from core.db import migrate, reset_engine, session_scope
    from models.common import Revision
    from plays import load_library
    from tests.support.stack import seed

    reset_engine()
    migrate()
    tokens = seed("bench-admin-token-0123456789")
    play, now = load_library()["renewal_save"], datetime.now(UTC)
    began = time.perf_counter()
    plays = PlayActivities(session_scope, client=None)
    for index in range(runs):
        plays.save_play_run_state(Revision(revision=1, state=synthetic_run(play, index, now)))
    written = time.perf_counter() - began

    from api.main import app

    with TestClient(app) as client:
        client.post("/sign-in", data={"token": tokens["maya"], "next": "/board"})
        board = measure(client, "/board", requests)
        live = measure(client, "/board/live", requests, {"X-Pillar-Live": "1"})
        filtered = measure(client, "/board/live?play=renewal_save&owner=lee&motion=academic", requests, {"X-Pillar-Live": "1"})
    with TestClient(app) as client:
        client.post("/sign-in", data={"token": tokens["casey"], "next": "/inbox"})
        inbox = measure(client, "/inbox/live", requests, {"X-Pillar-Live": "1"})

    print(f"running plays in the read model: {runs} (written in {written:.1f} s), a third overdue; SQLite, in-process ASGI")
    for name, (median, p95, size) in (("GET /board (full page)", board), ("GET /board/live (the refresh)", live),
                                      ("GET /board/live, filtered by play, owner, motion", filtered),
                                      (f"GET /inbox/live for a CSM owning a step in all {runs}", inbox)):
        print(f"  {name:<58} median {median:7.1f} ms   p95 {p95:7.1f} ms   {size / 1024:7.0f} KiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=30)
    arguments = parser.parse_args()
    main(arguments.runs, arguments.requests)
