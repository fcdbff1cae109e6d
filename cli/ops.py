"""`pillar ops`: list, replay and reset executions and retry failed play steps, talking to Temporal directly
(TEMPORAL_ADDRESS).

`pillar ops replay --all` replays histories against the workflow code installed here: run it before deploying
a workflow change; it exits non-zero on any non-determinism.
"""

import asyncio
import getpass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from temporalio.client import WorkflowHistory

from core.errors import PillarError
from core.paging import PageRequest
from models.ops import ExecutionStatus, ReplayResult

ops_app = typer.Typer(help="Failed executions: list them, replay them against today's code, reset them; retry failed "
                      "play steps; rebuild read models from workflow state.", no_args_is_help=True)
console = Console()


async def _client():
    from core.temporal import get_temporal_client

    return await get_temporal_client()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@ops_app.command("list")
def list_command(
    status: Annotated[ExecutionStatus | None, typer.Option(help="failed, running, completed, ...")] = ExecutionStatus.failed,
    workflow_type: Annotated[str | None, typer.Option("--type", help="e.g. PlayWorkflow")] = None,
    account: Annotated[str | None, typer.Option(help="account id")] = None,
    since: Annotated[datetime | None, typer.Option(help="started at or after (ISO-8601)")] = None,
    failed_steps: Annotated[bool, typer.Option("--failed-steps", help="running play runs held up by a failed step "
                                               "(retry them with `pillar ops retry`); implies --status running")] = False,
    limit: int = 100,
) -> None:
    """List executions with their failure and the activity (and play step) that failed."""
    from services import ops

    if failed_steps:
        status = ExecutionStatus.running

    async def run():
        query = ops.visibility_query(status, workflow_type, account, since, failed_steps=failed_steps)
        return (await ops.list_executions(await _client(), query, PageRequest(limit=limit))).items

    executions = asyncio.run(run())
    table = Table("workflow id", "type", "status", "started", "failed in", "failure")
    for e in executions:
        failed_in = f"{e.failed_step}: {e.failed_in}" if e.failed_step else e.failed_in or ""
        table.add_row(e.workflow_id, e.workflow_type, e.status.value, f"{e.start_time:%Y-%m-%d %H:%M}" if e.start_time else "",
                      failed_in, (e.failure or "")[:80])
    console.print(table)
    console.print(f"{len(executions)} execution(s)")
    for e in executions:
        if e.failed_step:
            console.print(f"{e.workflow_id}: step {e.failed_step} failed in {e.failed_in}: {e.failure}\n"
                          f"  once fixed: pillar ops retry {e.workflow_id} {e.failed_step}", soft_wrap=True, markup=False)


def print_replays(results: list[ReplayResult]) -> int:
    """One line per execution and a summary; returns how many were not deterministic."""
    broken = 0
    for result in results:
        if result.deterministic:
            console.print(f"[green]ok[/green]            {result.workflow_type or '?':18} {result.workflow_id}")
        else:
            broken += 1
            console.print(f"[red]NON-DETERMINISTIC[/red] {result.workflow_type or '?':18} {result.workflow_id}: {result.error}")
    console.print(f"replayed {len(results)}: {len(results) - broken} deterministic, {broken} not")
    return broken


async def replay_files(paths: list[Path], workflows) -> list[ReplayResult]:
    from services import ops

    results = []
    for path in paths:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        results.append(await ops.replay(history, workflows))
    return results


@ops_app.command("replay")
def replay_command(
    workflow_id: Annotated[str | None, typer.Argument(help="one execution")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every execution matching --status/--type")] = False,
    status: ExecutionStatus = ExecutionStatus.running,
    workflow_type: Annotated[str | None, typer.Option("--type")] = None,
    histories: Annotated[Path | None, typer.Option(help="a folder of recorded histories (*.json) instead of a server")] = None,
    limit: int = 1000,
) -> None:
    """Replay histories against the workflow code installed here; exit 1 on any non-determinism."""
    from services import ops
    from workflows import WORKFLOWS

    if histories is not None:
        results = asyncio.run(replay_files(sorted(histories.glob("*.json")), WORKFLOWS))
    elif workflow_id or all_:
        async def run() -> list[ReplayResult]:
            client = await _client()
            if workflow_id:
                return [await ops.replay(await ops.fetch_history(client, workflow_id), WORKFLOWS)]
            query = ops.visibility_query(status, workflow_type)
            total = (await client.count_workflows(query or None)).count
            out = []
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("replaying", total=min(total, limit))
                async for run_id, history in ops.histories_of(client, query, limit):
                    out.append(await ops.replay(history, WORKFLOWS, run_id))
                    progress.advance(task)
            return out

        try:
            results = asyncio.run(run())
        except PillarError as error:
            _fail(error.message)
    else:
        _fail("name a workflow id, or use --all, or --histories DIR")
    raise typer.Exit(1 if print_replays(results) else 0)


@ops_app.command("reset")
def reset_command(
    workflow_id: str,
    reason: Annotated[str, typer.Option(help="why; recorded in the audit")],
    event_id: Annotated[int | None, typer.Option(help="a WorkflowTaskCompleted event id (default: the last one)")] = None,
) -> None:
    """Reset an execution to its last completed workflow task (or --event-id) and let it run on."""
    from core.db import session_scope
    from services import ops

    async def run():
        with session_scope() as session:
            return await ops.reset_audited(session, await _client(), workflow_id, reason, f"cli:{getpass.getuser()}",
                                           event_id)

    try:
        result = asyncio.run(run())
    except PillarError as error:
        _fail(error.message)
    console.print(f"reset {workflow_id} to event {result.reset_to_event_id}: new run {result.new_run_id}")


@ops_app.command("retry")
def retry_command(
    workflow_id: Annotated[str, typer.Argument(help="a play run's workflow id (play-run-…)")],
    step_key: Annotated[str, typer.Argument(help="the failed step")],
    reason: Annotated[str | None, typer.Option(help="why it is safe now; recorded in the audit")] = None,
) -> None:
    """Run a failed play step's action again; exit 1 if it fails again."""
    from core.db import session_scope
    from models.common import Actor, Role
    from models.plays import StepRetryRequest, StepStatus
    from services.plays import retry_step

    run_id = workflow_id.removeprefix("play-")
    actor = Actor(id=f"cli:{getpass.getuser()}"[:64], role=Role.ops)

    async def run():
        with session_scope() as session:
            return await retry_step(session, await _client(), run_id, step_key, actor, StepRetryRequest(reason=reason))

    try:
        result = asyncio.run(run())
    except PillarError as error:
        _fail(error.message)
    step = next(s for s in result.steps if s.key == step_key)
    if step.status == StepStatus.failed:
        console.print(f"[red]{step_key} failed again[/red] in {step.failure.activity_type}: {escape(step.failure.message)}")
        raise typer.Exit(1)
    console.print(f"{step_key} is {step.status.value}; {workflow_id} goes on (current steps: "
                  f"{', '.join(s.key for s in result.current_steps()) or 'none'})")


@ops_app.command("reconcile")
def reconcile_command(
    workflow_id: Annotated[str | None, typer.Option("--workflow-id", help="one execution")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every execution matching --status/--type (default: the running "
                                       "signals, play runs, handoffs and rituals)")] = False,
    status: ExecutionStatus = ExecutionStatus.running,
    workflow_type: Annotated[str | None, typer.Option("--type")] = None,
    limit: int = 10000,
) -> None:
    """Rebuild read-model rows from the workflow's current state (after a reset, or to repair a row)."""
    from core.db import session_scope
    from services import reconcile

    if bool(workflow_id) == all_:
        _fail("name one execution with --workflow-id, or use --all")

    async def run() -> list:
        client = await _client()
        with session_scope() as session:
            if workflow_id:
                return [await reconcile.reconcile(session, client, workflow_id)]
            query, results, cursor = reconcile.read_model_query(status, workflow_type), [], None
            while len(results) < limit:
                page = await reconcile.reconcile_page(session, client, query, PageRequest(limit=min(100, limit - len(results)),
                                                                                          cursor=cursor))
                results += page.items
                if not (cursor := page.next_cursor):
                    break
            return results

    try:
        results = asyncio.run(run())
    except PillarError as error:
        _fail(error.message)
    for result in results:
        if result.error:
            console.print(f"{'NOT REBUILT':14} {result.workflow_id}: {result.error}", markup=False)
        else:
            done = "rebuilt" if result.rebuilt else "no read model"
            console.print(f"{done:14} {result.workflow_type:18} {result.workflow_id} (run {result.run_id})", markup=False)
    failed = sum(1 for r in results if r.error)
    console.print(f"reconciled {len(results)} execution(s): {sum(r.rebuilt for r in results)} rebuilt, {failed} not")
    raise typer.Exit(1 if failed else 0)
