"""Play runs: starting one against the library in force, reading one, and the manager's list of where each is stuck."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import defer
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.settings import get_settings
from core.temporal import query_or_read_model, rpc_timeout, run_update
from models.common import Actor
from models.plays import (
    BoardGroup,
    PlayDef,
    PlayRun,
    PlayRunCreated,
    PlayRunIn,
    PlayRunSummary,
    PlayStart,
    RunStatus,
    StepRetryInput,
    StepRetryRequest,
    StepStatus,
    Stuck,
)
from models.signals import AccountSnapshot, SignalDetail
from models.tables import Account, OpsAuditRow, PlayRunOwnerRow, PlayRunRow
from plays import load_library
from services.directory import holder_of_role
from services.ops import record_audit
from services.signals import get_signal
from services.visibility import Viewer, only_visible, resolved
from workflows import search_attributes as sa
from workflows.play import PlayWorkflow


def new_run_id() -> str:
    return "run-" + uuid.uuid4().hex[:24]


def workflow_id_for(run_id: str) -> str:
    return f"play-{run_id}"


def play_handle(client: Client, run_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(PlayWorkflow.run, workflow_id_for(run_id))


def find_play(play_key: str, library: dict[str, PlayDef] | None = None) -> PlayDef:
    library = load_library() if library is None else library
    play = library.get(play_key)
    if play is None:
        raise PillarError("invalid", f"no play {play_key!r} in the library; plays: {', '.join(sorted(library))}",
                          {"field": "play_key"})
    return play


def step_owners(session: Session, play: PlayDef, account: Account) -> dict[str, str | None]:
    """Each step's owner on this account (None where nobody holds the step's role)."""
    return {s.key: holder_of_role(session, account.team, s.owner_role.value) for s in play.steps}


def startable_plays(session: Session, account: Account, library: dict[str, PlayDef] | None = None) -> list[PlayDef]:
    """The library's plays whose every step has an owner on the account, so a start would not be refused for it."""
    plays = (library or load_library()).values()
    return [p for p in plays if None not in step_owners(session, p, account).values()]


def build_play_start(
    session: Session, play: PlayDef, account_id: str, signal: SignalDetail | None, started_by: str | None,
    run_id: str | None = None, task_id: str | None = None,
) -> PlayStart:
    """Check the entry criteria and resolve every step's owner now, once; refuse with a 422 that says why."""
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("invalid", f"unknown account {account_id!r}", {"field": "account_id"})
    if signal is not None:
        if signal.family not in play.entry.families:
            raise PillarError(
                "invalid",
                f"{play.name} does not start from a {signal.family} signal; its entry families are "
                f"{', '.join(play.entry.families)}",
                {"family": signal.family, "entry_families": play.entry.families},
            )
        if signal.account_id != account_id:
            raise PillarError("invalid", f"signal {signal.id} is about account {signal.account_id!r}, not {account_id!r}")
    owners = step_owners(session, play, account)
    unfilled = sorted({s.owner_role.value for s in play.steps if owners[s.key] is None})
    if unfilled:
        raise PillarError("invalid", f"account {account_id!r} has nobody in the role(s) {', '.join(unfilled)} "
                          f"that {play.name} needs: set its team first", {"unfilled_roles": unfilled})
    return PlayStart(
        id=run_id or new_run_id(),
        play=play,
        account=AccountSnapshot(id=account.id, name=account.name, arr=account.arr, motion=account.motion,
                                segment=account.segment, team=account.team),
        step_owners=owners,
        started_at=datetime.now(UTC),
        started_by=started_by,
        signal_id=signal.id if signal else None,
        signal_family=signal.family if signal else None,
        task_id=task_id,
    )


async def start_play_run(
    session: Session | AsyncSession, client: Client, request: PlayRunIn, started_by: str | None,
    library: dict[str, PlayDef] | None = None,
) -> PlayRunCreated:
    """Start a run of the library's current version of the play; a signal must meet the play's entry criteria."""
    play = find_play(request.play_key, library)
    signal = None
    if request.signal_id:
        try:
            signal = await get_signal(session, client, request.signal_id)
        except PillarError as error:
            if error.code != "not_found":  # e.g. Temporal or the workers unreachable: not the caller's mistake
                raise
            raise PillarError("invalid", f"unknown signal {request.signal_id!r}", {"field": "signal_id"}) from error
    return await launch(client, await in_session(session, build_play_start, play, request.account_id, signal, started_by))


async def launch(client: Client, start: PlayStart,
                 conflict: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.USE_EXISTING,
                 reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE) -> PlayRunCreated:
    await client.start_workflow(
        PlayWorkflow.run,
        start,
        id=workflow_id_for(start.id),
        task_queue=get_settings().temporal_task_queue,
        id_conflict_policy=conflict,
        id_reuse_policy=reuse,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PLAY_KEY, start.play.key),
                SearchAttributePair(sa.STATUS, RunStatus.running.value),
                SearchAttributePair(sa.ACCOUNT_ID, start.account.id),
                SearchAttributePair(sa.OWNER_IDS, sorted(set(start.step_owners.values()))),
            ]
        ),
        rpc_timeout=rpc_timeout(),
    )
    return PlayRunCreated(id=start.id, workflow_id=workflow_id_for(start.id), play_key=start.play.key,
                          play_version=start.play.version, status=RunStatus.running)


async def get_play_run(session: Session | AsyncSession, client: Client, run_id: str) -> PlayRun:
    """The run as of now: the workflow's own answer, else the read model."""
    run = await query_or_read_model(play_handle(client, run_id), PlayWorkflow.state, session, PlayRunRow, run_id,
                                    f"no play run {run_id!r}")
    return run.as_of(datetime.now(UTC))


async def update_run(session: Session | AsyncSession, client: Client, run_id: str, update, request) -> PlayRun:
    """Send a step completion, a retry or an exit and answer with the run as it stands after it; a run that has
    already ended answers 409, not 404."""
    try:
        await run_update(play_handle(client, run_id), update, request)
    except PillarError as error:
        if error.code != "not_found":
            raise
        run = await get_play_run(session, client, run_id)
        if run.status == RunStatus.running:  # the run is there: the validator found no such step
            raise
        raise PillarError("conflict", f"play run {run_id} is {run.status.value}") from error
    # read with a query: the update's own answer, recorded in the history, leaves out the timeline and steps' fields
    return await get_play_run(session, client, run_id)


async def retry_step(
    session: Session | AsyncSession, client: Client, run_id: str, step_key: str, actor: Actor, request: StepRetryRequest
) -> PlayRun:
    """Ops retries a failed step's action (see PlayWorkflow.retry_step); the attempt is audited either way."""
    run = await update_run(session, client, run_id, PlayWorkflow.retry_step,
                           StepRetryInput(step_key=step_key, actor=actor, reason=request.reason))
    step = next(s for s in run.steps if s.key == step_key)
    outcome = "done" if step.status == StepStatus.done else f"failed again: {step.failure.message if step.failure else ''}"
    audit = OpsAuditRow(actor_id=actor.id, action="retry_step", workflow_id=workflow_id_for(run_id),
                        reason=f"{step_key}: {request.reason or 'no reason given'} ({outcome})")
    await in_session(session, record_audit, audit)
    return run


def play_runs_query(status: RunStatus | None = None, play_key: str | None = None, owner_id: str | None = None,
                    account_id: str | None = None, motion: str | None = None, viewer: Viewer | None = None):
    """The runs matching the filters, without their state (lists never need the whole run); with a viewer, only
    runs on accounts they may see."""
    query = select(PlayRunRow).options(defer(PlayRunRow.state))
    query = only_visible(query, PlayRunRow, viewer)
    if status is not None:
        query = query.where(PlayRunRow.status == status.value)
    if play_key is not None:
        query = query.where(PlayRunRow.play_key == play_key)
    if account_id is not None:
        query = query.where(PlayRunRow.account_id == account_id)
    if owner_id is not None:
        query = query.join(PlayRunOwnerRow, PlayRunOwnerRow.run_id == PlayRunRow.id).where(PlayRunOwnerRow.user_id == owner_id)
    if motion is not None:
        query = query.join(Account, Account.id == PlayRunRow.account_id).where(Account.motion == motion)
    return query


def list_play_runs(
    session: Session, *, status: RunStatus | None = None, play_key: str | None = None, owner_id: str | None = None,
    account_id: str | None = None, motion: str | None = None, stuck: bool = False, page: PageRequest = PageRequest(),
    viewer: Viewer | None = None,
) -> Page[PlayRunSummary]:
    """One query on the read model: with `stuck`, only running runs with an open step past its due date or a
    failed step (its action gave up), the longest-waiting first; else the newest first."""
    now = datetime.now(UTC)
    query = play_runs_query(status, play_key, owner_id, account_id, motion, viewer)
    if stuck:
        query = query.where(PlayRunRow.status == RunStatus.running.value, PlayRunRow.next_due_at < now)
        order, name = (SortKey(PlayRunRow.stuck_since), SortKey(PlayRunRow.id)), "play_runs_stuck"
    else:
        order, name = (SortKey(PlayRunRow.started_at, descending=True), SortKey(PlayRunRow.id, descending=True)), "play_runs"
    return page_of(session, query, page, name, order, lambda row: _summary(row, now))


@dataclass
class Board:
    """The manager's board: the most urgent running runs, and counts over every one that matches."""

    runs: list[PlayRunSummary]
    total: int
    overdue: int
    failed: int
    at_step: dict[str, Counter]


def board(session: Session, play_key: str | None = None, owner_id: str | None = None, motion: str | None = None,
          shown: int = 100, viewer: Viewer | None = None) -> Board:
    """Runs held up by a failed step first, then overdue ones (the most overdue leading), then the longest waiting,
    then runs with nothing open: the first `shown` of them, ordered and counted in SQL from the board's indexes
    (only the rows shown are read)."""
    now = datetime.now(UTC)
    viewer = resolved(session, viewer)  # every query below filters on it
    running = play_runs_query(RunStatus.running, play_key, owner_id, None, motion, viewer).subquery()
    group, due_at = running.c.board_group, running.c.stuck_due_at
    total, overdue, failed, at_step = _counts(session, running, late=and_(group == BoardGroup.waiting, due_at < now),
                                             held=group == BoardGroup.held)
    ids = _most_urgent(session, running, now, shown)
    rows = {row.id: row for row in session.exec(select(PlayRunRow).options(defer(PlayRunRow.state))
                                                .where(PlayRunRow.id.in_(ids)))} if ids else {}
    return Board([_summary(rows[i], now) for i in ids], total, overdue, failed, at_step)


def _most_urgent(session: Session, running, now: datetime, shown: int) -> list[str]:
    """The first `shown` ids in board order: by group; in a group, the overdue by due date, then the rest by how
    long they have waited. Read segment by segment, each in the order of an index, until `shown` are found: one
    ORDER BY over the whole order would sort every running run on each refresh."""
    c = running.c
    ids: list[str] = []
    for group in BoardGroup:
        in_group = select(c.id).where(c.board_group == group.value)
        segments = (in_group.where(c.stuck_due_at < now).order_by(c.stuck_due_at, c.stuck_since, c.id),
                    in_group.where(or_(c.stuck_due_at >= now, c.stuck_due_at.is_(None))).order_by(c.stuck_since, c.id))
        for segment in segments:
            if len(ids) == shown:
                return ids
            ids += session.execute(segment.limit(shown - len(ids))).scalars()
    return ids


def _counts(session: Session, running, late, held) -> tuple[int, int, int, dict[str, Counter]]:
    """The runs, the overdue and the held ones, and how many of each play are at each step, in one scan grouped by
    the (few) distinct step sets."""
    total = overdue = failed = 0
    at_step: dict[str, Counter] = {}
    for play_key, current, count, late_count, held_count in session.execute(
            select(running.c.play_key, running.c.current_step_keys, func.count(), func.count(case((late, 1))),
                   func.count(case((held, 1)))).group_by(running.c.play_key, running.c.current_step_keys)):
        total, overdue, failed = total + count, overdue + late_count, failed + held_count
        counter = at_step.setdefault(play_key, Counter())
        for step_key in current.split():
            counter[step_key] += count
    return total, overdue, failed, at_step


def _summary(row: PlayRunRow, now: datetime) -> PlayRunSummary:
    stuck = None
    if row.status == RunStatus.running and row.stuck_step_key:
        overdue = max(0, int((now - row.stuck_due_at).total_seconds()))
        stuck = Stuck(step_key=row.stuck_step_key, owner_id=row.stuck_owner_id, waiting_since=row.stuck_since,
                      overdue_seconds=overdue, failure=row.stuck_failure)
    return PlayRunSummary(id=row.id, play_key=row.play_key, play_version=row.play_version, account_id=row.account_id,
                          status=RunStatus(row.status), current_steps=row.current_steps, stuck=stuck)

