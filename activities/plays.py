"""PlayWorkflow's side effects: the play_runs read model (the manager's stuck view), and feeding an exit
outcome back to the signal task that started the play."""

from sqlmodel import Session, delete
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities import Sessions
from activities.read_models import Claim, claim, writes_for_newest_run
from activities.timelines import append_timeline, read_timeline
from core.db import once_more_on_insert_race
from models.common import Revision
from models.plays import PlayOutcomeReport, PlayRun, PlayRunChange, PlayStart, RunStatus
from models.tables import PlayRunOpenStepRow, PlayRunOwnerRow, PlayRunRow
from models.tables.types import utcnow
from models.tasks import FINAL_OUTCOMES, TaskOutcomeInput
from services.plays import launch
from services.signals import signal_handle
from workflows import activity_types
from workflows.signal import SignalWorkflow


def play_run_columns(revision: int, run: PlayRun) -> dict:
    """The row's columns for this revision of the run (the activity and the book seeder write the same)."""
    open_steps, failed, stuck = run.open_steps(), run.failed_steps(), run.stuck_step()
    return {
        "signal_id": run.signal_id, "status": run.status.value, "outcome": run.outcome,
        "current_steps": [s.key for s in run.current_steps()],
        "current_step_keys": " ".join(s.key for s in run.current_steps()),  # step keys never hold a space
        "board_group": run.board_group(),
        "stuck_step_key": stuck.key if stuck else None,
        "stuck_owner_id": stuck.owner_id if stuck else None,
        "stuck_since": stuck.ready_at if stuck else None,
        "stuck_due_at": stuck.due_at if stuck else None,
        "stuck_failure": stuck.failure.model_dump(mode="json") if stuck and stuck.failure else None,
        # a failed step counts as overdue from its failure: the stuck view lists the run until ops retries it
        "next_due_at": min([s.due_at for s in open_steps] + [s.failure.at for s in failed]) if stuck else None,
        "revision": revision, "updated_at": utcnow(), "state": run.model_dump(mode="json"),
    }


class PlayActivities(activity_types.PlayActivities):
    def __init__(self, sessions: Sessions, client: Client) -> None:
        self.sessions = sessions
        self.client = client

    @activity.defn
    @once_more_on_insert_race
    def save_play_run_state(self, request: Revision[PlayRun]) -> None:
        """Upsert the run's row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
        with self.sessions() as session:
            write_play_run(session, request.revision, request.state)

    @activity.defn
    @once_more_on_insert_race
    def save_play_run_change(self, change: PlayRunChange) -> None:
        """Apply one change of the run. The timeline entries and the steps' fields are keyed on their own (seq, step),
        so they land whatever order saves arrive in; the row's columns follow the revision rule. The row's `state`
        stays the whole run, so every reader of the read model sees the same shape as the workflow's query.
        A run superseded by a reset writes nothing."""
        run = change.run
        with self.sessions() as session:
            if not writes_for_newest_run(session):
                return
            append_timeline(session, run.id, change.timeline_from, change.timeline)
            row = session.get(PlayRunRow, run.id, with_for_update=True)
            stored = row.state if row is not None else {}
            fields = {s["key"]: s.get("fields", {}) for s in stored.get("steps", [])} | change.fields
            timeline = read_timeline(session, run.id)
            if (allowed := claim(session, row, change.revision)) is None:  # stale: only its fields and entries land
                steps = [{**s, "fields": fields.get(s["key"], {})} for s in stored.get("steps", [])]
                row.state = {**stored, "steps": steps, "timeline": [e.model_dump(mode="json") for e in timeline]}
                session.add(row)
                return
            steps = [s.model_copy(update={"fields": fields.get(s.key, {})}) for s in run.steps]
            write_play_run_row(session, row, allowed, run.model_copy(update={"steps": steps, "timeline": timeline}))

    @activity.defn
    async def start_play(self, start: PlayStart) -> None:
        """Start the run under the id the API assigned when it recorded the task: a retry finds it started."""
        await launch(self.client, start)

    @activity.defn
    async def report_play_outcome(self, report: PlayOutcomeReport) -> None:
        """Set the linked task's outcome; if it already has a final one (its owner closed it), leave it be."""
        handle = signal_handle(self.client, report.signal_id)
        request = TaskOutcomeInput(task_id=report.task_id, outcome=report.outcome, note=report.note, via_play_run=report.run_id)
        if await _task_is_final(handle, report.task_id):
            return
        try:
            await handle.execute_update(SignalWorkflow.set_task_outcome, request)
        except WorkflowUpdateFailedError as error:
            if await _task_is_final(handle, report.task_id):
                return
            raise ApplicationError(f"task {report.task_id} refused the play's outcome: {error.cause}", non_retryable=True) from error


def write_play_run(session: Session, revision: int, run: PlayRun) -> None:
    row = session.get(PlayRunRow, run.id, with_for_update=True)
    if (allowed := claim(session, row, revision)) is not None:
        write_play_run_row(session, row, allowed, run)


def write_play_run_row(session: Session, row: PlayRunRow | None, allowed: Claim, run: PlayRun) -> None:
    """Move the run's row (and its owner and open-step rows) to this revision of the run."""
    if row is None:
        row = PlayRunRow(id=run.id, workflow_id=run.workflow_id, play_key=run.play_key, play_version=run.play_version,
                         account_id=run.account_id, status=run.status.value, started_at=run.started_at,
                         updated_at=utcnow(), state={})
        session.add(row)
        session.flush()
        for user_id in sorted({s.owner_id for s in run.steps}):
            session.add(PlayRunOwnerRow(run_id=run.id, user_id=user_id))
    for column, value in play_run_columns(allowed.revision, run).items():
        setattr(row, column, value)
    row.run_id = allowed.run_id
    session.add(row)
    session.flush()
    session.exec(delete(PlayRunOpenStepRow).where(PlayRunOpenStepRow.run_id == run.id))
    session.add_all(open_step_rows(run))


def open_step_rows(run: PlayRun) -> list[PlayRunOpenStepRow]:
    """The steps waiting on their owners (none once the run has ended): what the owners' inboxes read."""
    if run.status != RunStatus.running:
        return []
    return [PlayRunOpenStepRow(run_id=run.id, step_key=s.key, owner_id=s.owner_id, ready_at=s.ready_at, due_at=s.due_at)
            for s in run.open_steps()]


async def _task_is_final(handle, task_id: str) -> bool:
    signal = await handle.query(SignalWorkflow.state)
    task = next((t for t in signal.tasks if t.id == task_id), None)
    if task is None:
        raise ApplicationError(f"signal {signal.id} has no task {task_id}", non_retryable=True)
    return task.outcome in FINAL_OUTCOMES
