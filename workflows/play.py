"""PlayWorkflow: one per play run. Steps open as their dependencies finish, each with a durable due timer that
pages its owner when overdue and then their manager; completing a step and exiting are Updates with validators (seam 03).

A step may declare an automated action (e.g. log it to the CRM), run as an activity when its owner completes it.
If the activity gives up, the step is `failed` and the run waits there, still running, until ops retries it."""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

with workflow.unsafe.imports_passed_through():
    from models.common import Revision, Role, TimelineEntry, missing_fields
    from models.plays import (
        STEP_ACTIONS,
        ExitInput,
        PlayOutcomeReport,
        PlayRun,
        PlayRunChange,
        PlayStart,
        RunStatus,
        RunStep,
        StepActionRequest,
        StepActionResult,
        StepCompleteInput,
        StepFailure,
        StepNudgeInput,
        StepRetryInput,
        StepStatus,
    )
    from models.routing import EscalationStep
    from workflows import search_attributes as sa
    from workflows.activity_types import PlayActivities
    from workflows.escalation import Deadline, EscalationLadder, to_manager
    from workflows.legacy import LegacyPlayWorkflow
    from workflows.paging import DB_ACTIVITY, deliveries_finished, page
    from workflows.refusals import refuse

# Steps with an automated action: executions started before it existed never reach this path (their plays have no
# actions), and the marker keeps it explicit in the history of those that do.
STEP_ACTIONS_PATCH = "play-step-actions"
# The steps' due dates run on the escalation ladder (workflows/escalation.py) and the read model is saved by a
# typed activity; executions started before replay their own code (workflows/legacy.py).
LADDER_PATCH = "play-escalation-ladder"
# Each save sends the run without its timeline and steps' fields, plus the new timeline entries and the fields of the
# steps completed since the last save; updates answer without them: a change costs the history the same at any age.
COMPACT_PATCH = "play-saves-compact-changes"
# A manager nudging a step's owner: a new update (executions that never received one replay unchanged).
NUDGE_PATCH = "play-step-nudge"
NUDGE_EVERY = timedelta(hours=1)  # one nudge per step per hour: a reminder, not a stream of pages
OPS_ROLES = (Role.ops, Role.admin)


@workflow.defn
class PlayWorkflow(LegacyPlayWorkflow):
    @workflow.init
    def __init__(self, start: PlayStart) -> None:
        self._start = start
        self._play = start.play
        self._ladder = EscalationLadder(self._step_overdue, self._step_escalated, start.account.team)
        self._revision = 0
        self._changes = 0
        self._pages = 0
        self._acting: set[str] = set()  # steps whose action is running now
        self._published_failures: dict = {}  # the failed steps last put in the memo and search attributes
        self._timeline_saved = 0  # entries before this one are in a save already (compact saves)
        self._fields_saved: set[str] = set()  # steps whose fields are in a save already
        self._nudged: dict[str, datetime] = {}  # when each step's owner was last nudged
        self._run = PlayRun(
            id=start.id,
            workflow_id=workflow.info().workflow_id,
            play_key=start.play.key,
            play_version=start.play.version,
            account_id=start.account.id,
            signal_id=start.signal_id,
            task_id=start.task_id,
            status=RunStatus.running,
            started_at=workflow.now(),
            steps=[
                RunStep(key=s.key, title=s.title, owner_id=start.step_owners[s.key], depends_on=s.depends_on,
                        required_fields=s.required_fields, action=s.action)
                for s in start.play.steps
            ],
        )
        self._record("started", start.started_by, f"{start.play.name} v{start.play.version} on {start.account.name}")

    @workflow.run
    async def run(self, start: PlayStart) -> PlayRun:
        legacy = self._legacy
        await self._open_unblocked_steps()
        if legacy:
            await self._watch_steps_legacy()
        else:
            await self._ladder.run(done=lambda: self._run.status != RunStatus.running)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._run.status == RunStatus.completed and start.signal_id and start.task_id:
            await self._report_outcome()
        await deliveries_finished()
        return self._run

    @workflow.query
    def state(self) -> PlayRun:
        return self._run.as_of(workflow.now())

    # --- completing a step -----------------------------------------------------------------------------

    @workflow.update
    async def complete_step(self, request: StepCompleteInput) -> PlayRun:
        """With an action, the answer comes once the action has succeeded or given up (seconds at worst)."""
        step = self._step(request.step_key)
        self._ladder.stop(step.key)  # its owner has completed it
        step.completed_at = workflow.now()
        step.completed_by = request.actor.id
        step.fields = request.fields
        if step.action and workflow.patched(STEP_ACTIONS_PATCH):
            self._record("step_submitted", request.actor.id, f"{step.key} completed; running its action {step.action}")
            if not await self._run_action(step):
                return self._answer()
        step.status = StepStatus.done
        self._record("step_done", request.actor.id, f"{step.key} done")
        await self._open_unblocked_steps()
        return self._answer()

    @complete_step.validator
    def _validate_complete_step(self, request: StepCompleteInput) -> None:
        self._require_running()
        step = self._step(request.step_key)
        if step is None:
            raise refuse("not_found", f"play {self._play.key} has no step {request.step_key!r}")
        if step.status == StepStatus.done:
            raise refuse("conflict", f"step {step.key!r} is already done")
        if step.key in self._acting:
            raise refuse("conflict", f"step {step.key!r} is being completed: its action {step.action} is running")
        if step.status == StepStatus.failed:
            raise refuse("conflict", f"step {step.key!r} was completed but its action {step.action} failed: "
                         "ops must retry it", {"failure": step.failure.model_dump(mode="json")})
        actor = request.actor
        if not (actor.id == step.owner_id or actor.manages(step.owner_id) or actor.role == Role.admin):
            raise refuse("forbidden", f"only the step's owner ({step.owner_id}) or their manager may complete {step.key!r}")
        open_deps = [d for d in step.depends_on if self._step(d).status != StepStatus.done]
        if open_deps:
            raise refuse("conflict", f"step {step.key!r} waits on {', '.join(open_deps)}: finish those first")
        missing = missing_fields(step.required_fields, request.fields)
        if missing:
            raise refuse("invalid", f"step {step.key!r} needs the field(s) {', '.join(missing)}", {"missing_fields": missing})

    # --- a step's action, and ops retrying a failed one ----------------------------------------------------

    @workflow.update
    async def retry_step(self, request: StepRetryInput) -> PlayRun:
        """Run a failed step's action again; on success the step is done and the play goes on."""
        step = self._step(request.step_key)
        failure = step.failure
        reason = f": {request.reason}" if request.reason else ""
        self._record("step_retried", request.actor.id, f"{step.key}: retrying {failure.activity_type}{reason}")
        if await self._run_action(step):
            step.status = StepStatus.done
            step.failure = None
            self._record("step_done", request.actor.id, f"{step.key} done after a retry")
            await self._open_unblocked_steps()
        return self._answer()

    @retry_step.validator
    def _validate_retry_step(self, request: StepRetryInput) -> None:
        self._require_running()
        if request.actor.role not in OPS_ROLES:
            raise refuse("forbidden", "only ops or an admin may retry a failed step")
        step = self._step(request.step_key)
        if step is None:
            raise refuse("not_found", f"play {self._play.key} has no step {request.step_key!r}")
        if step.key in self._acting:
            raise refuse("conflict", f"step {step.key!r} is already running its action {step.action}")
        if step.status != StepStatus.failed:
            raise refuse("conflict", f"step {step.key!r} is {step.status.value}, not failed: there is nothing to retry")

    async def _run_action(self, step: RunStep) -> bool:
        """Run the step's action under its bounded retry policy. When it gives up, the step is `failed` (the run
        goes on waiting there) and the failure is on the step, the timeline, the search attributes and the memo."""
        action = STEP_ACTIONS[step.action]
        request = StepActionRequest(
            key=f"{self._run.id}:{step.key}", action=action.name, run_id=self._run.id, play_key=self._play.key,
            play_name=self._play.name, account_id=self._start.account.id, account_name=self._start.account.name,
            step_key=step.key, step_title=step.title, completed_by=step.completed_by, completed_at=step.completed_at,
            fields=step.fields,
        )
        self._acting.add(step.key)
        try:
            result = await workflow.execute_activity(
                action.activity,
                request,
                result_type=StepActionResult,
                start_to_close_timeout=action.timeout,
                retry_policy=RetryPolicy(initial_interval=action.first_retry, backoff_coefficient=2.0,
                                         maximum_attempts=action.max_attempts),
            )
        except ActivityError as error:
            self._fail_step(step, action.activity, action.max_attempts, error)
            await self._changed()
            return False
        finally:
            self._acting.discard(step.key)
        self._record("step_action", None, f"{step.key}: {action.name}: {result.detail}")
        return True

    def _fail_step(self, step: RunStep, activity_type: str, max_attempts: int, error: ActivityError) -> None:
        cause = error.cause or error
        exhausted = error.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED
        step.status = StepStatus.failed
        step.failure = StepFailure(
            activity_type=activity_type,
            error_type=cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__,
            message=cause.message or str(cause),
            attempts=max_attempts if exhausted else None,
            at=workflow.now(),
        )
        gave_up = f"gave up after {max_attempts} attempts" if exhausted else "failed"
        self._record("step_failed", None, f"{step.key}: {activity_type} {gave_up}: {step.failure.message}")

    # --- a manager nudging a step's owner -------------------------------------------------------------------

    @workflow.update
    async def nudge_step(self, request: StepNudgeInput) -> PlayRun:
        """Page the step's owner ("Maya nudged you about …") and record it on the timeline."""
        if workflow.patched(NUDGE_PATCH):
            step = self._step(request.step_key)
            self._nudged[step.key] = workflow.now()
            note = f": {request.note}" if request.note else ""
            self._record("step_nudged", request.actor.id, f"{request.actor_name} nudged {step.owner_id} about {step.key}{note}")
            await self._page_step(step, [step.owner_id], "nudge", f"{request.actor_name} nudged you about {step.title}{note}")
            await self._changed()
        return self._answer()

    @nudge_step.validator
    def _validate_nudge_step(self, request: StepNudgeInput) -> None:
        self._require_running()
        step = self._step(request.step_key)
        if step is None:
            raise refuse("not_found", f"play {self._play.key} has no step {request.step_key!r}")
        actor = request.actor
        if not (actor.manages(step.owner_id) or actor.role in OPS_ROLES):
            raise refuse("forbidden", f"only the manager of the step's owner ({step.owner_id}), ops or an admin may nudge them")
        if step.status not in (StepStatus.ready, StepStatus.overdue):
            raise refuse("conflict", f"step {step.key!r} is {step.status.value}: only a ready or overdue step waits on its owner")
        last = self._nudged.get(step.key)
        if last is not None and workflow.now() < last + NUDGE_EVERY:
            at = (last + NUDGE_EVERY).isoformat()
            raise refuse("conflict", f"{step.owner_id} was nudged about {step.key!r} at {last.isoformat()}; "
                         f"the next nudge is allowed at {at}", {"next_allowed_at": at})

    # --- exit ------------------------------------------------------------------------------------------

    @workflow.update
    async def exit(self, request: ExitInput) -> PlayRun:
        run = self._run
        run.status = RunStatus.completed
        run.outcome = request.outcome
        run.note = request.note
        run.ended_at = workflow.now()
        self._record("exited", request.actor.id, f"outcome {request.outcome}" + (f": {request.note}" if request.note else ""))
        await self._changed()
        return self._answer()

    @exit.validator
    def _validate_exit(self, request: ExitInput) -> None:
        self._require_running()
        if request.outcome not in self._play.exit_outcomes:
            valid = self._play.exit_outcomes
            raise refuse(
                "invalid",
                f"{request.outcome!r} is not an exit outcome of {self._play.name}; valid outcomes are {', '.join(valid)}",
                {"valid_outcomes": valid},
            )
        actor = request.actor
        owners = {s.owner_id for s in self._run.steps}
        if not (actor.id in owners or any(actor.manages(o) for o in owners) or actor.role == Role.admin):
            raise refuse("forbidden", "only an owner of one of the play's steps or their manager may end the play")

    # --- steps opening, timers, escalation ---------------------------------------------------------------

    async def _open_unblocked_steps(self) -> None:
        if self._run.status != RunStatus.running:  # the play ended while a step's action ran
            await self._changed()
            return
        now = workflow.now()
        opened = []
        for step in self._run.steps:
            if step.status == StepStatus.blocked and all(self._step(d).status == StepStatus.done for d in step.depends_on):
                step.status = StepStatus.ready
                step.ready_at = now
                step.due_at = now + self._play.step(step.key).due
                opened.append(step)
                self._record("step_ready", None, f"{step.key} ready for {step.owner_id}, due {step.due_at.isoformat()}")
                self._ladder.arm(Deadline(key=step.key, due_at=step.due_at, owners=[step.owner_id], from_due=True,
                                          levels=to_manager(self._play.escalate_after)))
        await self._changed()
        for step in opened:
            await self._page_step(step, [step.owner_id], "page", f"Play step ready: {step.title}")

    @property
    def _legacy(self) -> bool:
        return not workflow.patched(LADDER_PATCH)

    async def _step_overdue(self, deadline: Deadline) -> None:
        step = self._step(deadline.key)
        step.status = StepStatus.overdue
        self._record("step_overdue", None, f"{step.key} is past its due date; {step.owner_id} paged")
        await self._page_step(step, [step.owner_id], "overdue", f"Play step overdue: {step.title}")
        await self._changed()

    async def _step_escalated(self, deadline: Deadline, level: EscalationStep, managers: list[str]) -> None:
        step = self._step(deadline.key)
        step.escalated_at, step.escalated_to = deadline.fired_at, managers
        self._record("step_escalated", None, f"{step.key} overdue: escalated to {', '.join(managers) or 'nobody'}")
        await self._page_step(step, managers, "escalation", f"{step.owner_id}'s play step is overdue: {step.title}")
        await self._changed()

    async def _report_outcome(self) -> None:
        await workflow.execute_activity_method(
            PlayActivities.report_play_outcome,
            PlayOutcomeReport(
                run_id=self._run.id,
                signal_id=self._start.signal_id,
                task_id=self._start.task_id,
                outcome=self._play.task_outcome_for(self._run.outcome),
                note=f"{self._play.name} ended {self._run.outcome}" + (f": {self._run.note}" if self._run.note else ""),
            ),
            **DB_ACTIVITY,
        )
        self._record("reported", None, f"outcome fed back to task {self._start.task_id}")
        await self._changed()

    # --- bookkeeping -----------------------------------------------------------------------------------

    def _step(self, key: str) -> RunStep | None:
        return next((s for s in self._run.steps if s.key == key), None)

    def _require_running(self) -> None:
        if self._run.status != RunStatus.running:
            raise refuse("conflict", f"play run {self._run.id} is {self._run.status}")

    def _record(self, type_: str, actor: str | None, detail: str) -> None:
        self._run.timeline.append(TimelineEntry(at=workflow.now(), type=type_, actor=actor, detail=detail))

    async def _page_step(self, step: RunStep, user_ids: list[str], kind: str, text: str) -> None:
        self._pages += 1
        text = f"{text} ({self._play.name} on {self._start.account.name})"
        await page(user_ids, kind=kind, subject_type="play_run", subject_id=self._run.id, text=text, key=f"page-{self._pages}")

    async def _changed(self) -> None:
        """Wake the timer loop, publish search attributes and write the read model row."""
        self._changes += 1
        self._revision += 1
        run = self._run
        open_steps = run.open_steps()
        failed = run.failed_steps()
        running = run.status == RunStatus.running
        updates = [
            sa.PLAY_KEY.value_set(run.play_key),
            sa.STATUS.value_set(run.status.value),
            sa.ACCOUNT_ID.value_set(run.account_id),
            sa.OWNER_IDS.value_set(sorted({s.owner_id for s in run.steps})),
            sa.CURRENT_STEPS.value_set([s.key for s in run.current_steps()]),
            sa.STUCK.value_set(running and (bool(failed) or any(s.status == StepStatus.overdue for s in open_steps))),
        ]
        failures = {s.key: s.failure.model_dump(mode="json") for s in failed} if running else {}
        if failures != self._published_failures:  # only runs that have had a failed step carry these
            self._published_failures = failures
            updates.append(sa.FAILED_STEPS.value_set(list(failures)) if failures else sa.FAILED_STEPS.value_unset())
            workflow.upsert_memo({"failed_steps": failures or None})
        workflow.upsert_search_attributes(updates)
        if self._legacy:
            await self._save_legacy()
        elif self._compact:
            await workflow.execute_activity_method(PlayActivities.save_play_run_change, self._change(), **DB_ACTIVITY)
        else:
            await workflow.execute_activity_method(
                PlayActivities.save_play_run_state, Revision(revision=self._revision, state=self.state()), **DB_ACTIVITY
            )

    @property
    def _compact(self) -> bool:
        return not self._legacy and workflow.patched(COMPACT_PATCH)

    def _change(self) -> PlayRunChange:
        """The save of this revision: the entries and the steps' fields no save has carried yet."""
        first = self._timeline_saved
        self._timeline_saved = len(self._run.timeline)
        fields = {s.key: s.fields for s in self._run.steps if s.fields and s.key not in self._fields_saved}
        self._fields_saved.update(fields)
        return PlayRunChange(revision=self._revision, run=self._without_blobs(), timeline_from=first,
                             timeline=self._run.timeline[first:], fields=fields)

    def _without_blobs(self) -> PlayRun:
        run = self.state()
        steps = [s.model_copy(update={"fields": {}}) for s in run.steps]
        return run.model_copy(update={"steps": steps, "timeline": []})

    def _answer(self) -> PlayRun:
        """An update's answer, recorded in the history: the run without its timeline and steps' fields (the API
        reads the whole run with a query, which costs the history nothing)."""
        return self._without_blobs() if self._compact else self.state()

