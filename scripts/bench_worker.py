"""The worker's cost per signal, without the API: start N SignalWorkflows straight on the task queue of a stack like
`make run`'s (scripts/bench_load.py's Stack), wait until every owner is paged, and print the signals paged per second
and the CPU the worker and the dev server spent per signal (from /proc). `--profile` also records the worker with
py-spy (GIL samples, raw format) for the whole run.

    .venv/bin/python scripts/bench_worker.py --signals 600
    .venv/bin/python scripts/bench_worker.py --signals 600 --profile worker.txt   # needs `pip install py-spy`
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_load  # noqa: E402


async def main(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pillar-bench-worker-"))
    stack = bench_load.Stack(folder, 1, 1, None)
    await stack.start()
    try:
        from sqlalchemy import text
        from sqlmodel import Session
        from temporalio.common import SearchAttributePair, TypedSearchAttributes

        from core.db import get_engine
        from models.signals import SignalIn
        from services.signals import build_start
        from workflows import search_attributes as sa
        from workflows.signal import SignalWorkflow

        with Session(get_engine()) as session:
            start = build_start(session, SignalIn(family="renewal_risk", severity="critical", account_id="acme"), "bench")
        attributes = TypedSearchAttributes([
            SearchAttributePair(sa.ACCOUNT_ID, "acme"), SearchAttributePair(sa.FAMILY, start.family),
            SearchAttributePair(sa.SEVERITY, "critical"), SearchAttributePair(sa.STATUS, "open"),
            SearchAttributePair(sa.OWNER_IDS, start.owners), SearchAttributePair(sa.ESCALATION_LEVEL, 0)])
        lanes = asyncio.Semaphore(32)

        async def open_one(signal_id: str) -> None:
            async with lanes:
                await stack.client.start_workflow(SignalWorkflow.run, start.model_copy(update={"id": signal_id}),
                                                  id=f"signal-{signal_id}", task_queue=stack.task_queue,
                                                  search_attributes=attributes)

        await asyncio.gather(*(open_one(f"warm-{i}") for i in range(30)))  # imports, caches, connections
        await asyncio.sleep(3)
        pids = {name: process.pid for name, process in stack.children if name in ("worker-0", "temporal")}
        cpu = bench_load.CpuMeter.seconds
        before = {name: cpu(pid) for name, pid in pids.items()}
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pids["worker-0"]), "-f", "raw", "-o", args.profile,
                                "-r", "50", "--gil"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
        began = time.perf_counter()
        await asyncio.gather(*(open_one(f"bench-{i}") for i in range(args.signals)))
        paged = 0
        while paged < args.signals and time.perf_counter() - began < 300:
            with get_engine().connect() as connection:
                paged = connection.execute(text("SELECT count(DISTINCT subject_id) FROM notifications "
                                                "WHERE subject_id LIKE 'bench-%'")).scalar()
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - began
        spent = {name: cpu(pid) - before[name] for name, pid in pids.items()}
        if spy:
            spy.send_signal(subprocess.signal.SIGINT)
            spy.wait()
        print(f"{paged} signals paged in {elapsed:.1f}s = {paged / elapsed:.1f}/s; CPU per signal: "
              f"worker {spent['worker-0'] / max(paged, 1) * 1000:.1f} ms, dev server {spent['temporal'] / max(paged, 1) * 1000:.1f} ms")
    finally:
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=600)
    parser.add_argument("--profile", help="write a py-spy raw profile of the worker here")
    asyncio.run(main(parser.parse_args()))
