"""`ops reconcile`: rebuild read-model rows (signals and tasks, play runs, handoffs, agendas and action items) from
their workflow's current state, for one execution or a page of them at a time."""

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecution, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.handoffs import write_handoff
from activities.plays import write_play_run
from activities.read_models import Writer, writing_as
from activities.rituals import write_ritual
from activities.signals import write_signal, write_tasks
from activities.timelines import replace_timeline
from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, bad_cursor, encode_cursor
from core.temporal import QUERY_TIMEOUT
from models.ops import ExecutionStatus, ReconcileResult
from models.tables.types import utcnow
from models.tasks import SignalTasks
from services.ops import quote, token_of, visibility_query
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow
from workflows.ritual import RitualWorkflow
from workflows.signal import SignalWorkflow


def _rebuild_signal(session: Session, revision: int, signal) -> None:
    write_signal(session, revision, signal)
    write_tasks(session, revision, SignalTasks(account_id=signal.account_id, tasks=signal.tasks))
    replace_timeline(session, signal.id, signal.timeline)


def _rebuild_play_run(session: Session, revision: int, run) -> None:
    write_play_run(session, revision, run)
    replace_timeline(session, run.id, run.timeline)


def _rebuild_ritual(session: Session, revision: int, state) -> None:
    if state.agenda_id is not None:  # no agenda built yet: nothing to show
        write_ritual(session, revision, state)


QUERIES_AT_ONCE = 8  # a page of executions must not flood the workers with queries

# Each workflow that keeps a read model: its state query, and how its activities write that state (the revision
# does not matter to a rebuild: `claim` keeps the stored one)
READ_MODELS = {
    "SignalWorkflow": (SignalWorkflow.state, _rebuild_signal),
    "PlayWorkflow": (PlayWorkflow.state, _rebuild_play_run),
    "HandoffWorkflow": (HandoffWorkflow.state, write_handoff),
    "RitualWorkflow": (RitualWorkflow.state, _rebuild_ritual),
}


@dataclass
class Found:
    """An execution's current run and its state, ready to write (no `write` when there is nothing to rebuild)."""

    result: ReconcileResult
    writer: Writer | None = None
    write: Callable[[Session, int, Any], None] | None = None
    state: Any = None


async def reconcile(session: Session | AsyncSession, client: Client, workflow_id: str) -> ReconcileResult:
    """Rebuild the execution's read-model rows from its current run's state (its query), through the writers its
    activities use: the rows then belong to that run, and its later writes go on from them."""
    return await _write(session, await current_state(client, workflow_id))


async def current_state(client: Client, workflow_id: str) -> Found:
    at = utcnow()  # before asking which run is current: a run reset after this is seen later still
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise PillarError("not_found", f"no execution {workflow_id!r}") from error
        raise
    result = ReconcileResult(workflow_id=workflow_id, run_id=description.run_id,
                             workflow_type=description.workflow_type, rebuilt=False)
    if description.workflow_type not in READ_MODELS:
        return Found(result)
    query, write = READ_MODELS[description.workflow_type]
    run = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    try:
        state = await run.query(query, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError) as error:
        raise PillarError("unavailable", f"{workflow_id} did not answer its state query (no worker running?): "
                                         "try again once a worker is up") from error
    return Found(result, Writer(workflow_id, description.run_id, at, rebuild=True), write, state)


async def _write(session: Session | AsyncSession, found: Found) -> ReconcileResult:
    if found.write is None:
        return found.result
    await in_session(session, _rebuild, found.writer, found.write, found.state)
    return found.result.model_copy(update={"rebuilt": True})


def _rebuild(session: Session, writer: Writer, write, state) -> None:
    with writing_as(writer):
        write(session, 0, state)
    session.commit()


def read_model_query(status: ExecutionStatus | None = ExecutionStatus.running, workflow_type: str | None = None) -> str:
    """The executions `reconcile_page` goes through: by default, the running ones that keep a read model."""
    query = visibility_query(status, workflow_type)
    if workflow_type:
        return query
    kinds = "WorkflowType IN (" + ", ".join(quote(name) for name in READ_MODELS) + ")"
    return f"{query} AND {kinds}" if query else kinds


async def reconcile_page(session: Session | AsyncSession, client: Client, query: str,
                         page: PageRequest = PageRequest()) -> Page[ReconcileResult]:
    """Reconcile one page of the executions `query` lists (bounded: a page at a time, the cursor wraps visibility's
    own page token). An execution that does not answer is reported with its `error` and the rest go on; a page on
    which none answers is a 503 (no worker)."""
    after = page.after("reconcile", 1)
    listing = client.list_workflows(query or None, page_size=page.limit,
                                    next_page_token=token_of(after[0]) if after else None)
    try:
        await listing.fetch_next_page()
    except RPCError as error:
        if after and error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise bad_cursor("it does not belong to this listing") from error
        raise
    executions = listing.current_page or []
    at_once = asyncio.Semaphore(QUERIES_AT_ONCE)
    found = await asyncio.gather(*(_state_or_error(client, execution, at_once) for execution in executions))
    if executions and all(f.result.error for f in found):
        raise PillarError("unavailable", "no execution on this page answered its state query (no worker running?): "
                                         "try again once a worker is up")
    results = [await _write(session, f) for f in found]  # one session: one write after another
    token = listing.next_page_token if executions else None
    return Page(results, encode_cursor("reconcile", [base64.b64encode(token).decode()]) if token else None)


async def _state_or_error(client: Client, execution: WorkflowExecution, at_once: asyncio.Semaphore) -> Found:
    async with at_once:
        try:
            return await current_state(client, execution.id)
        except PillarError as error:  # gone since it was listed, or no worker answers it
            return Found(ReconcileResult(workflow_id=execution.id, run_id=execution.run_id,
                                         workflow_type=execution.workflow_type, rebuilt=False, error=error.message))
