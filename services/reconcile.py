"""`ops reconcile`: rebuild read-model rows (signals and tasks, play runs, handoffs, agendas and action items) from
their workflow's current state, for one execution or a page of them at a time."""

import base64

from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from activities.handoffs import write_handoff
from activities.plays import write_play_run
from activities.read_models import Writer, writing_as
from activities.rituals import write_ritual
from activities.signals import write_signal, write_tasks
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


def _rebuild_signal(session: Session, signal) -> None:
    write_signal(session, 0, signal)
    write_tasks(session, 0, SignalTasks(account_id=signal.account_id, tasks=signal.tasks))


def _rebuild_ritual(session: Session, state) -> None:
    if state.agenda_id is not None:  # no agenda built yet: nothing to show
        write_ritual(session, 0, state)


# Each workflow that keeps a read model: its state query, and how its activities write that state
READ_MODELS = {
    "SignalWorkflow": (SignalWorkflow.state, _rebuild_signal),
    "PlayWorkflow": (PlayWorkflow.state, write_play_run),
    "HandoffWorkflow": (HandoffWorkflow.state, write_handoff),
    "RitualWorkflow": (RitualWorkflow.state, _rebuild_ritual),
}


async def reconcile(session: Session | AsyncSession, client: Client, workflow_id: str) -> ReconcileResult:
    """Rebuild the execution's read-model rows from its current run's state (its query), through the writers its
    activities use: the rows then belong to that run, and its later writes go on from them."""
    at = utcnow()  # before asking which run is current: a reset after this makes a run seen later still
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
        return result
    query, write = READ_MODELS[description.workflow_type]
    run = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    try:
        state = await run.query(query, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError) as error:
        raise PillarError("unavailable", f"{workflow_id} did not answer its state query (no worker running?): "
                                         "try again once a worker is up") from error
    await in_session(session, _rebuild, Writer(workflow_id, description.run_id, at, rebuild=True), write, state)
    return result.model_copy(update={"rebuilt": True})


def _rebuild(session: Session, writer: Writer, write, state) -> None:
    with writing_as(writer):
        write(session, state)
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
    """Reconcile one page of the executions `query` lists, one after another (bounded: a page at a time, the cursor
    wraps visibility's own page token)."""
    after = page.after("reconcile", 1)
    listing = client.list_workflows(query or None, page_size=page.limit,
                                    next_page_token=token_of(after[0]) if after else None)
    try:
        await listing.fetch_next_page()
    except RPCError as error:
        if after and error.status == RPCStatusCode.INVALID_ARGUMENT:
            raise bad_cursor("it does not belong to this listing") from error
        raise
    found = listing.current_page or []
    results = [await reconcile(session, client, execution.id) for execution in found]
    token = listing.next_page_token if found else None
    return Page(results, encode_cursor("reconcile", [base64.b64encode(token).decode()]) if token else None)
