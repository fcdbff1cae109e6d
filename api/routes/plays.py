from fastapi import APIRouter, Body, Query, status

from api.deps import AsyncSessionDep, CurrentUser, OpsUser, PathId, QueryText, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from api.visibility import check_signal_in_body, sees
from core.db import in_session
from models.plays import (
    ExitInput,
    ExitRequest,
    PlayDef,
    PlayRun,
    PlayRunCreated,
    PlayRunIn,
    PlayRunSummary,
    RunStatus,
    StepCompleteInput,
    StepCompleteRequest,
    StepNudgeInput,
    StepNudgeRequest,
    StepRetryRequest,
)
from plays import load_library
from services.plays import get_play_run, list_play_runs, retry_step, start_play_run, update_run
from services.visibility import check_account_in_body
from workflows.play import PlayWorkflow

router = APIRouter(tags=["plays"], responses=ERROR_RESPONSES)


@router.get("/api/v1/plays", response_model=list[PlayDef])
def get_plays(_: CurrentUser) -> list[PlayDef]:
    """The play library in force (plays/*.toml): entry criteria, exit outcomes, steps with owners, dependencies,
    due durations and required output fields."""
    return list(load_library().values())


@router.post("/api/v1/play-runs", status_code=status.HTTP_201_CREATED, response_model=PlayRunCreated)
async def create_play_run(body: PlayRunIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> PlayRunCreated:
    """Start the play's current version for the account. With a `signal_id`, its family must be in the play's
    entry criteria (422 otherwise). The run keeps this version whatever the library becomes. An account or signal
    the caller may not see is unknown (422)."""
    await in_session(session, check_account_in_body, user, body.account_id)
    if body.signal_id:
        await check_signal_in_body(session, user, body.signal_id)
    return await start_play_run(session, client, body, started_by=user.id)


@router.get("/api/v1/play-runs", response_model=list[PlayRunSummary], responses=PAGED, description=(
    "The manager's view: for each run (on the accounts the caller may see), its open steps and what it is stuck on (step, owner, since when, seconds "
    "overdue). `stuck=true` keeps runs with an open step past its due date or a failed step (`stuck.failure` says "
    "why), longest waiting first; otherwise the newest first. One query on the read model the play workflows keep; "
    "`owner_id` matches anyone who owns a step of the run; `motion` keeps runs on accounts of that motion." + PAGING_NOTE))
def get_play_runs(
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    status_: RunStatus | None = Query(default=None, alias="status"),
    play_key: QueryText = None,
    owner_id: QueryText = None,
    account_id: QueryText = None,
    motion: QueryText = None,
    stuck: bool = False,
) -> list[PlayRunSummary]:
    return paging.send(list_play_runs(session, status=status_, play_key=play_key, owner_id=owner_id,
                                      account_id=account_id, motion=motion, stuck=stuck, page=paging.page,
                                      viewer=user))


@router.get("/api/v1/play-runs/{run_id}", response_model=PlayRun, dependencies=[sees("play_run", "run_id")])
async def read_play_run(run_id: PathId, session: AsyncSessionDep, client: TemporalDep, _: CurrentUser) -> PlayRun:
    """The full step picture, from the workflow itself."""
    return await get_play_run(session, client, run_id)


@router.post("/api/v1/play-runs/{run_id}/steps/{step_key}/complete", response_model=PlayRun, dependencies=[sees("play_run", "run_id")])
async def complete_step(
    run_id: PathId, step_key: PathId, body: StepCompleteRequest, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser
) -> PlayRun:
    """The step's owner (or their manager) completes it with its output fields. Open dependencies → 409, missing
    required fields → 422 naming them, anyone else → 403. A step with an `action` (e.g. `log_to_crm`) runs it first
    and answers once it has succeeded (the step is `done`) or given up after a few attempts, about three seconds
    (the step is `failed` with its `failure`, the run waits there until ops retries it)."""
    request = StepCompleteInput(step_key=step_key, actor=await user.actor(session), **body.model_dump())
    return await update_run(session, client, run_id, PlayWorkflow.complete_step, request)


@router.post("/api/v1/play-runs/{run_id}/steps/{step_key}/retry", response_model=PlayRun, dependencies=[sees("play_run", "run_id")])
async def retry_failed_step(
    run_id: PathId, step_key: PathId, session: AsyncSessionDep, client: TemporalDep, user: OpsUser,
    body: StepRetryRequest | None = Body(default=None),
) -> PlayRun:
    """Ops (or an admin) runs a failed step's action again, once its cause is fixed: on success the step is done
    and the play goes on; if it fails again the step stays `failed` with the new failure. A step that is not
    failed → 409. The retry and its reason go to the run's timeline and the ops audit."""
    return await retry_step(session, client, run_id, step_key, await user.actor(session), body or StepRetryRequest())


@router.post("/api/v1/play-runs/{run_id}/steps/{step_key}/nudge", response_model=PlayRun, dependencies=[sees("play_run", "run_id")])
async def nudge_step(
    run_id: PathId, step_key: PathId, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser,
    body: StepNudgeRequest | None = Body(default=None),
) -> PlayRun:
    """The manager of a ready or overdue step's owner (or ops, an admin) nudges them: the owner is paged ("Maya
    nudged you about …") and the run's timeline records it. Anyone else → 403; a step that is not waiting on its
    owner → 409; one nudge per step per hour (→ 409 saying when the next is allowed)."""
    request = StepNudgeInput(step_key=step_key, actor=await user.actor(session), actor_name=user.name,
                             **(body or StepNudgeRequest()).model_dump())
    return await update_run(session, client, run_id, PlayWorkflow.nudge_step, request)


@router.post("/api/v1/play-runs/{run_id}/exit", response_model=PlayRun, dependencies=[sees("play_run", "run_id")])
async def exit_play_run(run_id: PathId, body: ExitRequest, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> PlayRun:
    """End the run with one of the play's exit outcomes (anything else → 422 listing them); a run started from a
    signal's task feeds the outcome back to that task."""
    request = ExitInput(actor=await user.actor(session), **body.model_dump())
    return await update_run(session, client, run_id, PlayWorkflow.exit, request)
