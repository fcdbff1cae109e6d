"""Benchmark a cold replay: what a worker pays per workflow when it starts (or restarts after a crash) and rebuilds its
cache from the histories. Replays every recorded history under tests/histories, each as a workflow the worker has
never seen, with the SDK's sandbox and with Pillar's (core/sandbox.py), and prints milliseconds of CPU per replay
by workflow type (best of --rounds; the wall time follows the CPU on a quiet machine). Usage:
    .venv/bin/python scripts/bench_replay.py [--rounds 3] [--copies 5] [--json]
"""

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.sandbox import workflow_runner  # noqa: E402
from services.ops import workflow_type_of  # noqa: E402
from worker import compile_workflows  # noqa: E402
from workflows import WORKFLOWS  # noqa: E402

HISTORIES = Path(__file__).resolve().parent.parent / "tests" / "histories"


async def cpu_ms_per_replay(runner, histories: list[WorkflowHistory]) -> float:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner)

    async def each():
        for history in histories:
            yield history

    began = time.process_time()
    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            assert result.replay_failure is None, result.replay_failure
    return (time.process_time() - began) * 1000 / len(histories)


async def main(rounds: int, copies: int) -> dict:
    compile_workflows()  # as the worker does at start: the sandbox imports the workflow modules for every run
    by_type: dict[str, list[str]] = defaultdict(list)
    for path in sorted(HISTORIES.glob("*.json")):
        text = path.read_text()
        by_type[workflow_type_of(WorkflowHistory.from_json(path.stem, text))].append(text)
    runners = {"sdk": SandboxedWorkflowRunner(), "pillar": workflow_runner(pydantic_data_converter)}
    figures = {}
    for workflow_type, texts in sorted(by_type.items()):
        histories = [WorkflowHistory.from_json(f"bench-{i}", texts[i % len(texts)]) for i in range(copies * len(texts))]
        events = sum(len(h.events) for h in histories) / len(histories)
        best = {name: min([await cpu_ms_per_replay(runner, histories) for _ in range(rounds)])
                for name, runner in runners.items()}
        figures[workflow_type] = {"histories": len(texts), "events": round(events, 1),
                                  **{name: round(ms, 1) for name, ms in best.items()}}
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--copies", type=int, default=5, help="replays of each recorded history per round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = asyncio.run(main(args.rounds, args.copies))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{'workflow':<24}{'histories':>10}{'events':>8}{'SDK sandbox ms':>16}{'Pillar ms':>11}{'saved':>8}")
        for workflow_type, row in figures.items():
            saved = 1 - row["pillar"] / row["sdk"]
            print(f"{workflow_type:<24}{row['histories']:>10}{row['events']:>8}{row['sdk']:>16}{row['pillar']:>11}{saved:>8.0%}")
