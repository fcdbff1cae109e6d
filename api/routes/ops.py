from datetime import datetime

from fastapi import APIRouter, Query

from api.deps import AsyncSessionDep, OpsUser, PathId, QueryText, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PagingDep
from models.ops import Execution, ExecutionStatus, ReconcileResult, ReplayResult, ResetRequest, ResetResult
from services import ops, reconcile
import workflows

RUN_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

router = APIRouter(prefix="/api/v1/ops", tags=["operations"], responses=ERROR_RESPONSES)


@router.get("/executions", response_model=list[Execution], responses=PAGED)
async def list_executions(
    session: AsyncSessionDep,
    client: TemporalDep,
    _: OpsUser,
    paging: PagingDep,
    status: ExecutionStatus | None = None,
    workflow_type: str | None = Query(default=None, max_length=100, pattern=r"^[A-Za-z0-9_]+$"),
    account_id: QueryText = None,
    started_after: datetime | None = None,
    started_before: datetime | None = None,
    failed_steps: bool = Query(default=False, description="Only play runs held up by a step whose action gave up"),
) -> list[Execution]:
    """Executions from Temporal visibility, the most recent first; failed, timed-out and terminated ones say why
    and in which activity (read once from the history and kept, so a list never fetches a history per row). A play
    run that is still running but held up by a failed step says which step (`failed_step`), which activity and why:
    retry it with `POST /api/v1/play-runs/{id}/steps/{step_key}/retry`. Pages by cursor: `limit` rows (default 50,
    at most 500); when visibility has more, `X-Next-Cursor` and `Link` name the next page (which may be empty)."""
    query = ops.visibility_query(status, workflow_type, account_id, started_after, started_before, failed_steps)
    return paging.send(await ops.list_executions(client, query, paging.page, session))


@router.post("/executions/{workflow_id}/replay", response_model=ReplayResult)
async def replay_execution(
    workflow_id: PathId, client: TemporalDep, _: OpsUser,
    run_id: str | None = Query(default=None, pattern=RUN_ID_PATTERN, description="A run of the workflow (a UUID); default: the latest"),
) -> ReplayResult:
    """Replay the recorded history against the workflow code this server runs now."""
    history = await ops.fetch_history(client, workflow_id, run_id)
    return await ops.replay(history, workflows.WORKFLOWS, run_id)


@router.post("/executions/{workflow_id}/reset", response_model=ResetResult)
async def reset_execution(
    workflow_id: PathId, body: ResetRequest, session: AsyncSessionDep, client: TemporalDep, user: OpsUser
) -> ResetResult:
    """Reset to the last completed workflow task (or `event_id`) and run on; the reason goes to the ops audit. From
    then on the new run owns the execution's read-model rows (an attempt of the old run still in flight writes none);
    they show its state at its next write, or at once after `POST .../reconcile`."""
    return await ops.reset_audited(session, client, workflow_id, body.reason, user.id, body.event_id)


@router.post("/executions/reconcile", response_model=list[ReconcileResult], responses=PAGED)
async def reconcile_executions(
    session: AsyncSessionDep,
    client: TemporalDep,
    _: OpsUser,
    paging: PagingDep,
    status: ExecutionStatus | None = ExecutionStatus.running,
    workflow_type: str | None = Query(default=None, max_length=100, pattern=r"^[A-Za-z0-9_]+$"),
) -> list[ReconcileResult]:
    """`POST .../{workflow_id}/reconcile` for one page of executions (default: the running signals, play runs,
    handoffs and rituals), one after another; `X-Next-Cursor` names the next page until none is left. 503 when a
    worker does not answer."""
    query = reconcile.read_model_query(status, workflow_type)
    return paging.send(await reconcile.reconcile_page(session, client, query, paging.page))


@router.post("/executions/{workflow_id}/reconcile", response_model=ReconcileResult)
async def reconcile_execution(workflow_id: PathId, session: AsyncSessionDep, client: TemporalDep, _: OpsUser) -> ReconcileResult:
    """Rebuild the execution's read-model rows (what lists, inboxes and boards read) from its current run's state,
    as its workflow answers the state query: after a reset, or to repair a row. `rebuilt` is false for a workflow
    that keeps no read model. 503 when no worker answers the query."""
    return await reconcile.reconcile(session, client, workflow_id)
