"""How late a timer's workflow task runs after a fault, with the SDK's defaults and with Pillar's worker settings
(README, "Recovering from faults"), on a Temporal dev server (SQLite file) of its own:

- the dev server restarted (down 3 s): one plain Worker, whose pollers wait out their backoff, against
  worker.ReconnectingWorker, which polls through a new connection as soon as the server answers again;
- the worker SIGKILLed and started again: its workflows' tasks wait on its sticky queue for the SDK's 10 s, or
  for WORKER_STICKY_SCHEDULE_TO_START_SECONDS.

Each timer falls due during or shortly after the fault; it prints, per case, each timer's lateness after recovery
(fired - max(due, recovered)) in seconds. Usage: .venv/bin/python scripts/bench_fault_recovery.py [--timers 6]
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import workflow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUEUE = "bench-fault-recovery"


@workflow.defn
class Timer:
    """Sleeps, then answers when it was due and when its next workflow task ran."""

    @workflow.run
    async def run(self, seconds: float) -> list[str]:
        due = workflow.now() + timedelta(seconds=seconds)
        await workflow.sleep(seconds)
        return [due.isoformat(), workflow.now().isoformat()]


def plain_worker(client, sticky: float):
    """Unsandboxed: the sandbox cannot re-import a workflow defined in a script run as __main__."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    return Worker(client, task_queue=QUEUE, workflows=[Timer], workflow_runner=UnsandboxedWorkflowRunner(),
                  sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky))


async def serve(address: str, sticky: float) -> None:
    """A worker process (the kill case kills it)."""
    from temporalio.client import Client

    worker = plain_worker(await Client.connect(address), sticky)
    print("polling", flush=True)
    await worker.run()


class Server:
    def __init__(self, folder: Path) -> None:
        from tests.support.stack import free_port

        self.folder, self.port, self.ui_port = folder, free_port(), free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = None

    async def start(self) -> datetime:
        import devstack

        self.process = devstack.start_temporal(self.folder / "temporal.db", self.port, self.ui_port,
                                               log_file=self.folder / "temporal.log")
        await devstack.wait_for_temporal(self.address, self.process)
        return datetime.now(UTC)

    def stop(self) -> None:
        import devstack

        devstack.stop([("temporal", self.process)])


async def start_timers(client, case: str, count: int, first: float) -> list:
    return [await client.start_workflow(Timer.run, first + 0.5 * n, id=f"{case}-{n}", task_queue=QUEUE)
            for n in range(count)]


async def lateness(handles, recovered: datetime) -> list[float]:
    late = []
    for handle in handles:
        due, fired = (datetime.fromisoformat(t) for t in await handle.result())
        late.append((fired - max(due, recovered)).total_seconds())
    return late


async def server_restart(folder: Path, count: int, reconnecting: bool) -> list[float]:
    from temporalio.client import Client

    from worker import ReconnectingWorker

    server = Server(folder)
    await server.start()
    client = await Client.connect(server.address)
    if reconnecting:
        worker = ReconnectingWorker(client, lambda: Client.connect(server.address), lambda c: plain_worker(c, 10))
    else:
        worker = plain_worker(client, 10)
    running = asyncio.create_task(worker.run())
    handles = await start_timers(client, f"restart-{reconnecting}", count, first=3.0)
    await asyncio.sleep(1)
    server.stop()
    await asyncio.sleep(3)
    recovered = await server.start()
    try:
        return await lateness(handles, recovered)
    finally:
        await worker.shutdown()
        await running
        server.stop()


async def worker_kill(folder: Path, count: int, sticky: float) -> list[float]:
    from temporalio.client import Client

    server = Server(folder)
    await server.start()
    client = await Client.connect(server.address)
    first = spawn_worker(server.address, sticky)
    try:
        handles = await start_timers(client, f"kill-{sticky}", count, first=2.0)
        await asyncio.sleep(1.5)  # each has run its first task on this worker: its sticky queue
        first.kill()
        first.wait()
        second = spawn_worker(server.address, sticky)
        recovered = datetime.now(UTC)
        try:
            return await lateness(handles, recovered)
        finally:
            second.terminate()
            second.wait()
    finally:
        server.stop()


def spawn_worker(address: str, sticky: float) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, __file__, "--serve", address, str(sticky)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "polling"
    return process


def report(case: str, late: list[float]) -> None:
    print(f"{case:<58} median {statistics.median(late):5.2f} s   max {max(late):5.2f} s   "
          f"({', '.join(f'{x:.2f}' for x in late)})")


async def main(count: int) -> None:
    from core.settings import get_settings

    sticky = get_settings().worker_sticky_schedule_to_start_seconds
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        cases = [
            ("server restart, one worker (SDK pollers' backoff)", server_restart, False),
            ("server restart, worker.ReconnectingWorker", server_restart, True),
            ("worker SIGKILL, sticky schedule-to-start 10 s (SDK)", worker_kill, 10.0),
            (f"worker SIGKILL, sticky schedule-to-start {sticky:g} s (Pillar)", worker_kill, sticky),
        ]
        for n, (case, run, option) in enumerate(cases):
            (root / str(n)).mkdir()
            report(case, await run(root / str(n), count, option))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=6)
    parser.add_argument("--serve", nargs=2, metavar=("ADDRESS", "STICKY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], float(args.serve[1])))
    else:
        asyncio.run(main(args.timers))
