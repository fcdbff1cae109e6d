"""Ops: executions that failed (or play runs held up by a failed step), with replay, reset and retry buttons.
Only ops and admin see it, as in the API."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import AsyncSessionDep, TemporalDep
from api.pages.web import OpsPageUser, account_names, done, posted_form, refused, render_page
from core.db import in_session
from services.ops import reset_audited
from core.errors import PillarError
from core.paging import PageRequest
from models.ops import ExecutionStatus, ResetRequest
from services import ops
import workflows

router = APIRouter(include_in_schema=False)
SHOWN = {"failed": ExecutionStatus.failed, "timed_out": ExecutionStatus.timed_out,
         "terminated": ExecutionStatus.terminated}
LIMIT = 200


def ops_url(status: str | None) -> str:
    return f"/ops?status={status if status in SHOWN else 'failed'}"


@router.get("/ops")
async def ops_page(request: Request, session: AsyncSessionDep, user: OpsPageUser, client: TemporalDep,
                   status: str = "failed") -> Response:
    status = status if status in SHOWN else "failed"
    page = PageRequest(limit=LIMIT)
    executions = (await ops.list_executions(client, ops.visibility_query(SHOWN[status]), page, session)).items
    query = ops.visibility_query(ExecutionStatus.running, failed_steps=True)
    stuck_steps = (await ops.list_executions(client, query, page, session)).items
    return await render_page(request, session, user, "ops.html", {
        "executions": executions, "stuck_steps": stuck_steps, "status": status, "statuses": list(SHOWN),
        "accounts": await in_session(session, account_names, [e.account_id for e in executions + stuck_steps if e.account_id])})


@router.post("/ops/executions/{workflow_id}/replay")
async def replay(workflow_id: str, request: Request, session: AsyncSessionDep, user: OpsPageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = ops_url(form.get("status"))
    try:
        result = await ops.replay(await ops.fetch_history(client, workflow_id), workflows.WORKFLOWS)
    except PillarError as error:
        return await refused(session, user, error, back, f"exec-{workflow_id}")
    if result.deterministic:
        return await done(session, user, f"Replayed {workflow_id} against the code running now: deterministic.", back)
    return await refused(session, user, PillarError("conflict", f"Replaying {workflow_id} against the code running now "
                                              f"failed: {result.error}"), back, f"exec-{workflow_id}")


@router.post("/ops/executions/{workflow_id}/reset")
async def reset(workflow_id: str, request: Request, session: AsyncSessionDep, user: OpsPageUser, client: TemporalDep) -> Response:
    form = await posted_form(request, user)
    back = ops_url(form.get("status"))
    try:
        body = ResetRequest(reason=form.get("reason", "").strip())
        result = await reset_audited(session, client, workflow_id, body.reason, user.id)
    except ValidationError:
        return await refused(session, user, PillarError("invalid", "say why you reset it: the reason goes to the ops audit"),
                       back, f"exec-{workflow_id}", form)
    except PillarError as error:
        return await refused(session, user, error, back, f"exec-{workflow_id}", form)
    return await done(session, user, f"Reset {workflow_id} to event {result.reset_to_event_id}: new run {result.new_run_id}.", back)
