"""What failed, why, and is it safe to run again: listing, replaying and resetting executions."""

import asyncio
import base64
import binascii
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.client import WorkflowExecution as ListedExecution
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.read_models import Writer, record_run
from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, bad_cursor, encode_cursor
from core.sandbox import workflow_runner
from models.ops import Execution, ExecutionStatus, ReplayResult, ResetResult
from models.tables import ExecutionFailureRow, OpsAuditRow
from models.tables.types import utcnow
from workflows import search_attributes as sa

VISIBILITY_STATUS = {
    ExecutionStatus.running: "Running",
    ExecutionStatus.completed: "Completed",
    ExecutionStatus.failed: "Failed",
    ExecutionStatus.cancelled: "Canceled",
    ExecutionStatus.terminated: "Terminated",
    ExecutionStatus.continued_as_new: "ContinuedAsNew",
    ExecutionStatus.timed_out: "TimedOut",
}
STATUS_FROM_TEMPORAL = {
    WorkflowExecutionStatus.RUNNING: ExecutionStatus.running,
    WorkflowExecutionStatus.COMPLETED: ExecutionStatus.completed,
    WorkflowExecutionStatus.FAILED: ExecutionStatus.failed,
    WorkflowExecutionStatus.CANCELED: ExecutionStatus.cancelled,
    WorkflowExecutionStatus.TERMINATED: ExecutionStatus.terminated,
    WorkflowExecutionStatus.CONTINUED_AS_NEW: ExecutionStatus.continued_as_new,
    WorkflowExecutionStatus.TIMED_OUT: ExecutionStatus.timed_out,
}
UNHEALTHY = {ExecutionStatus.failed, ExecutionStatus.timed_out, ExecutionStatus.terminated}


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(
    status: ExecutionStatus | None = None,
    workflow_type: str | None = None,
    account_id: str | None = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    failed_steps: bool = False,
) -> str:
    """`failed_steps`: only executions with a play step whose action gave up (they are still running)."""
    clauses = []
    if status is not None:
        clauses.append(f"ExecutionStatus = {quote(VISIBILITY_STATUS[status])}")
    if workflow_type:
        clauses.append(f"WorkflowType = {quote(workflow_type)}")
    if account_id:
        clauses.append(f"{sa.ACCOUNT_ID.name} = {quote(account_id)}")
    if started_after:
        clauses.append(f"StartTime >= {quote(started_after.isoformat())}")
    if started_before:
        clauses.append(f"StartTime < {quote(started_before.isoformat())}")
    if failed_steps:
        clauses.append(f"{sa.FAILED_STEPS.name} IS NOT NULL")
    return " AND ".join(clauses)


def why_it_failed(history: WorkflowHistory) -> tuple[str | None, str | None]:
    """The closing failure's message and the last activity that failed before it, read from the history."""
    failed_in = message = None
    scheduled: dict[int, str] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type in (EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
            attributes = event.activity_task_failed_event_attributes if event.HasField(
                "activity_task_failed_event_attributes") else event.activity_task_timed_out_event_attributes
            failed_in = scheduled.get(attributes.scheduled_event_id)
            message = attributes.failure.message or message
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            while failure.HasField("cause") and not failure.message:
                failure = failure.cause
            message = failure.message or message
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            message = "terminated: " + (event.workflow_execution_terminated_event_attributes.reason or "no reason given")
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            message = "the workflow run timed out"
    return message, failed_in


async def list_executions(client: Client, query: str, page: PageRequest = PageRequest(),
                          session: Session | AsyncSession | None = None) -> Page[Execution]:
    """One page of executions from visibility. A closed execution's history never changes, so why it failed is read
    from its history once, kept in `execution_failures`, and read from there by every later list (with no
    `session`, e.g. the CLI, the histories are read each time). The cursor wraps visibility's own page token."""
    after = page.after("executions", 1)
    listing = client.list_workflows(query or None, page_size=page.limit,
                                    next_page_token=token_of(after[0]) if after else None)
    try:
        await listing.fetch_next_page()
    except RPCError as error:
        if after and error.status == RPCStatusCode.INVALID_ARGUMENT:  # a token from another query, or made up
            raise bad_cursor("it does not belong to this listing") from error
        raise
    executions = [_execution(found) for found in listing.current_page or []]
    await explain_failures(client, session, [e for e in executions if e.status in UNHEALTHY])
    for found, execution in zip(listing.current_page or [], executions):
        if execution.status not in UNHEALTHY and found.typed_search_attributes.get(sa.FAILED_STEPS):
            await describe_failed_step(found, execution)
    token = listing.next_page_token if executions else None
    return Page(executions, encode_cursor("executions", [base64.b64encode(token).decode()]) if token else None)


def token_of(value) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error as error:
        raise bad_cursor("it is not one this API gave") from error


def _execution(found: ListedExecution) -> Execution:
    return Execution(
        workflow_id=found.id,
        run_id=found.run_id,
        workflow_type=found.workflow_type,
        status=STATUS_FROM_TEMPORAL.get(found.status, ExecutionStatus.running),
        start_time=found.start_time,
        close_time=found.close_time,
        account_id=found.typed_search_attributes.get(sa.ACCOUNT_ID),
    )


HISTORIES_AT_ONCE = 8  # a first listing of many failed executions must not flood Temporal


async def explain_failures(client: Client, session: Session | AsyncSession | None, executions: list[Execution]) -> None:
    """Fill in `failure` and `failed_in`: from the stored summaries, else from the histories (fetched together,
    then stored)."""
    known = await in_session(session, stored_failures, executions) if session is not None else {}
    unknown = [e for e in executions if (e.workflow_id, e.run_id) not in known]
    at_once = asyncio.Semaphore(HISTORIES_AT_ONCE)

    async def history_of(execution: Execution) -> WorkflowHistory:
        async with at_once:
            return await client.get_workflow_handle(execution.workflow_id, run_id=execution.run_id).fetch_history()

    histories = await asyncio.gather(*(history_of(e) for e in unknown))
    for execution, history in zip(unknown, histories):
        execution.failure, execution.failed_in = why_it_failed(history)
    for execution in executions:
        if (execution.workflow_id, execution.run_id) in known:
            execution.failure, execution.failed_in = known[(execution.workflow_id, execution.run_id)]
    if session is not None and unknown:
        await in_session(session, store_failures, unknown)


def stored_failures(session: Session, executions: list[Execution]) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    run_ids = [e.run_id for e in executions]
    if not run_ids:
        return {}
    rows = session.exec(select(ExecutionFailureRow).where(ExecutionFailureRow.run_id.in_(run_ids))).all()
    return {(r.workflow_id, r.run_id): (r.failure, r.failed_in) for r in rows}


def store_failures(session: Session, executions: list[Execution]) -> None:
    """Keep the summaries; a concurrent list that stored them first wins (the same facts either way)."""
    for execution in executions:
        session.merge(ExecutionFailureRow(workflow_id=execution.workflow_id, run_id=execution.run_id,
                                          workflow_type=execution.workflow_type, status=execution.status.value,
                                          failure=execution.failure, failed_in=execution.failed_in))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


async def describe_failed_step(found: ListedExecution, execution: Execution) -> None:
    """A play run waiting on a failed step keeps the failure in its memo (no history to read)."""
    failures = (await found.memo()).get("failed_steps") or {}
    if failures:
        step_key, failure = min(failures.items(), key=lambda item: (item[1]["at"], item[0]))
        execution.failed_step, execution.failed_in, execution.failure = step_key, failure["activity_type"], failure["message"]


async def fetch_history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise PillarError("not_found", f"no execution {workflow_id!r}") from error
        if error.status == RPCStatusCode.INVALID_ARGUMENT:  # a malformed run id, an id Temporal cannot take
            raise PillarError("invalid", f"Temporal refused {workflow_id!r}: {error.message}") from error
        raise


def workflow_type_of(history: WorkflowHistory) -> str | None:
    first = history.events[0] if history.events else None
    return first.workflow_execution_started_event_attributes.workflow_type.name if first else None


def run_id_of(history: WorkflowHistory) -> str:
    first = history.events[0] if history.events else None
    return first.workflow_execution_started_event_attributes.original_execution_run_id if first else ""


async def replay(history: WorkflowHistory, workflows: Sequence[type], run_id: str | None = None) -> ReplayResult:
    """Replay a recorded history against `workflows` (the code as it is now)."""
    replayer = Replayer(workflows=workflows, data_converter=pydantic_data_converter,
                        workflow_runner=workflow_runner(pydantic_data_converter))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    return ReplayResult(
        workflow_id=history.workflow_id,
        run_id=run_id or run_id_of(history),
        workflow_type=workflow_type_of(history),
        deterministic=failure is None,
        error=f"{type(failure).__name__}: {failure}" if failure else None,
    )


async def histories_of(client: Client, query: str, limit: int) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    async for found in client.list_workflows(query or None, limit=limit):
        yield found.run_id, await client.get_workflow_handle(found.id, run_id=found.run_id).fetch_history()


def last_workflow_task_completed(history: WorkflowHistory, at_or_before: int | None = None) -> int:
    candidates = [
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and (at_or_before is None or e.event_id <= at_or_before)
    ]
    if not candidates:
        raise PillarError("conflict", "the execution has no completed workflow task to reset to")
    return candidates[-1]


async def reset(client: Client, workflow_id: str, reason: str, event_id: int | None = None) -> ResetResult:
    """Reset to the last completed workflow task (or the one at/before `event_id`) and run on from there."""
    history = await fetch_history(client, workflow_id)
    if event_id is not None and not any(
        e.event_id == event_id and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events
    ):
        raise PillarError("invalid", f"event {event_id} of {workflow_id} is not a completed workflow task",
                          {"field": "event_id"})
    target = event_id or last_workflow_task_completed(history)
    description = await client.get_workflow_handle(workflow_id).describe()
    response = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=description.run_id),
            reason=reason,
            workflow_task_finish_event_id=target,
            request_id=str(uuid.uuid4()),
        )
    )
    return ResetResult(workflow_id=workflow_id, new_run_id=response.run_id, reset_to_event_id=target)


async def reset_audited(session: Session | AsyncSession, client: Client, workflow_id: str, reason: str, actor_id: str,
                        event_id: int | None = None) -> ResetResult:
    """Reset, and record who did it and why in the ops audit."""
    result = await reset(client, workflow_id, reason, event_id)
    audit = OpsAuditRow(actor_id=actor_id, action="reset", workflow_id=workflow_id, new_run_id=result.new_run_id,
                        reason=reason)
    # the new run is the newest from now on: an attempt of the old run still in flight writes no read model
    await in_session(session, record_audit, audit, Writer(workflow_id, result.new_run_id, utcnow()))
    return result


def record_audit(session: Session, row: OpsAuditRow, new_run: Writer | None = None) -> None:
    session.add(row)
    if new_run is not None:
        record_run(session, new_run)
    session.commit()
