"""The workflows' code before the escalation ladder (workflows/escalation.py) and the typed activities, kept so that
executions started before it replay and run on unchanged: each workflow takes it when its `*-escalation-ladder`
patch is absent from its history. Delete a class (and its patch check) once no execution of that workflow started
before the patch can still be running; tests/histories/ holds recorded executions of both paths.

Each class is a mixin of its workflow: it reads and writes the workflow's own state."""

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.handoffs import FINAL_STATUSES, HandoffStatus
    from models.plays import OPEN_STEP_STATUSES, RunStatus, RunStep, StepStatus
    from models.rituals import ActionItem, AgendaStatus, PreparedRitual
    from models.signals import EscalationTargetRequest, SignalStatus
    from models.tasks import Task
    from workflows import metrics
    from workflows.activity_types import DirectoryActivities
    from workflows.deadlines import wait_until
    from workflows.paging import DB_ACTIVITY

# A page and the read-model revision that records it are one activity (one workflow task and one activity fewer
# per page, so a busy worker pages sooner); executions recorded before it replay the two activities unchanged.
PAGE_AND_SAVE_PATCH = "signal-page-and-save-in-one-activity"


async def look_up(to: str, team: dict[str, str], owner_ids: list[str]) -> list[str]:
    return await workflow.execute_activity_method(
        DirectoryActivities.resolve_escalation_target,
        EscalationTargetRequest(to=to, account_team=team, current_owner_ids=owner_ids),
        **DB_ACTIVITY,
    )


async def save(activity: str, *args) -> None:
    """The read-model saves as they were: by name, with positional arguments (activities/legacy.py)."""
    await workflow.execute_activity(activity, args=list(args), **DB_ACTIVITY)


class LegacySignalWorkflow:
    # A timer that fires early is re-armed (workflows/deadlines.py); executions recorded before that replay unchanged.
    EARLY_TIMER_PATCH = "signal-sla-early-timer"
    # An acknowledgement or reassignment that lands while an escalation's targets are looked up stops that
    # escalation; the marker is written only when that happens, so executions recorded before it replay unchanged.
    ESCALATION_RACE_PATCH = "signal-escalation-yields-to-action"
    # The same for an overdue task: its final outcome, set while its owner's manager is looked up, stops it.
    OVERDUE_ESCALATION_RACE_PATCH = "signal-overdue-escalation-yields-to-action"

    async def _watch_legacy(self) -> None:
        await self._watch_sla_legacy()
        if workflow.patched("signal-task-due-timers"):
            await self._watch_tasks_legacy()

    async def _save_signal_legacy(self) -> None:
        await save("save_signal", self._revision, self.state())

    async def _save_tasks_legacy(self) -> None:
        await save("save_tasks", self._task_revision, self._start.account.id, self._signal.tasks)

    async def _watch_tasks_legacy(self) -> None:
        """Each open task's due timer: overdue pages the owner, then `escalate_at` pages the owner's manager."""
        while self._signal.status != SignalStatus.resolved:
            deadlines = [d for t in self._signal.tasks if not t.is_final and (d := self._task_deadline_legacy(t))]
            seen = self._task_changes
            remaining = min(deadlines) - workflow.now() if deadlines else None
            if remaining is None or remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._task_changes != seen or self._signal.status == SignalStatus.resolved, timeout=remaining
                    )
                    continue
                except asyncio.TimeoutError:
                    pass
            await self._fire_task_deadlines_legacy()

    @staticmethod
    def _task_deadline_legacy(task: Task):
        """A task that runs a play has no timer of its own: the play's steps carry the due dates and escalation."""
        if task.play_run_id:
            return None
        if not task.overdue_paged:
            return task.due_at
        return None if task.escalated_at else task.escalate_at

    async def _fire_task_deadlines_legacy(self) -> None:
        now = workflow.now()
        for task in [t for t in self._signal.tasks if not t.is_final]:
            if not task.overdue_paged and now >= task.due_at:
                task.overdue_paged = True
                task.escalate_at = max(task.escalate_at or now, now)
                self._record("task_overdue", None, f"{task.id} is past its due date")
                await self._page_task(task, [task.owner_id], "overdue", f"Task overdue on {self._start.account.name}: {task.title}")
            elif task.overdue_paged and not task.escalated_at and now >= task.escalate_at:
                managers = await look_up("manager", self._start.account.team, [task.owner_id])
                if task.is_final and workflow.patched(self.OVERDUE_ESCALATION_RACE_PATCH):
                    continue
                task.escalated_at, task.escalated_to = now, managers
                self._record("task_escalated", None, f"{task.id} overdue: escalated to {', '.join(managers) or 'nobody'}")
                await self._page_task(
                    task, managers, "escalation", f"{task.owner_id}'s task on {self._start.account.name} is overdue: {task.title}"
                )
        await self._tasks_changed()

    async def _watch_sla_legacy(self) -> None:
        """Wait for acknowledgement; each lapse fires the next escalation level. A reassignment restarts it."""
        while self._signal.acknowledged_by is None:
            self._sla_restarted = False
            if not await self._wait_for_action_legacy(until=self._signal.sla_due_at):
                continue
            self._record("sla_lapsed", None, f"SLA of {self._start.rule.sla} lapsed unacknowledged")
            metrics.sla_breached(self._start.family, self._start.severity.value)
            await self._changed()
            for level, step in enumerate(self._start.rule.escalation, start=1):
                if not await self._wait_for_action_legacy(until=workflow.now() + step.after):
                    break
                targets = await look_up(step.to, self._start.account.team, self._signal.owners)
                if (self._signal.acknowledged_by is not None or self._sla_restarted) and workflow.patched(self.ESCALATION_RACE_PATCH):
                    continue
                await self._escalate_sla(level, step.to, targets)
            else:
                await workflow.wait_condition(lambda: self._signal.acknowledged_by is not None or self._sla_restarted)

    async def _wait_for_action_legacy(self, until) -> bool:
        """True when `until` passed with nobody acting; False on acknowledgement or reassignment."""
        acted = lambda: self._signal.acknowledged_by is not None or self._sla_restarted  # noqa: E731
        return not await wait_until(acted, until, self.EARLY_TIMER_PATCH)


class LegacyPlayWorkflow:
    # A step completed (or the play ended) while its owner's manager is looked up stops that step's escalation; the
    # marker is written only when that happens, so executions recorded before it replay unchanged.
    OVERDUE_ESCALATION_RACE_PATCH = "play-overdue-escalation-yields-to-action"

    async def _save_legacy(self) -> None:
        await save("save_play_run", self._revision, self.state())

    async def _watch_steps_legacy(self) -> None:
        while self._run.status == RunStatus.running:
            deadline = min((d for s in self._run.steps if (d := self._deadline_legacy(s))), default=None)
            seen = self._changes
            remaining = deadline - workflow.now() if deadline else None
            if remaining is None or remaining > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda: self._changes != seen or self._run.status != RunStatus.running, timeout=remaining
                    )
                    continue
                except asyncio.TimeoutError:
                    pass
            await self._fire_deadlines_legacy()

    def _deadline_legacy(self, step: RunStep) -> datetime | None:
        if step.key in self._acting:  # its owner has completed it
            return None
        if step.status == StepStatus.ready:
            return step.due_at
        if step.status == StepStatus.overdue and step.escalated_at is None:
            return step.due_at + self._play.escalate_after
        return None

    async def _fire_deadlines_legacy(self) -> None:
        now = workflow.now()
        for step in [s for s in self._run.steps if s.status in OPEN_STEP_STATUSES and s.key not in self._acting]:
            if step.status == StepStatus.ready and now >= step.due_at:
                step.status = StepStatus.overdue
                self._record("step_overdue", None, f"{step.key} is past its due date; {step.owner_id} paged")
                await self._page_step(step, [step.owner_id], "overdue", f"Play step overdue: {step.title}")
            elif step.status == StepStatus.overdue and step.escalated_at is None and now >= self._deadline_legacy(step):
                managers = await look_up("manager", self._start.account.team, [step.owner_id])
                if not self._still_overdue_legacy(step) and workflow.patched(self.OVERDUE_ESCALATION_RACE_PATCH):
                    continue
                step.escalated_at, step.escalated_to = now, managers
                self._record("step_escalated", None, f"{step.key} overdue: escalated to {', '.join(managers) or 'nobody'}")
                await self._page_step(step, managers, "escalation", f"{step.owner_id}'s play step is overdue: {step.title}")
        await self._changed()

    def _still_overdue_legacy(self, step: RunStep) -> bool:
        return (self._run.status == RunStatus.running and step.status == StepStatus.overdue
                and step.key not in self._acting)


class LegacyHandoffWorkflow:
    # A timer that fires early is re-armed (workflows/deadlines.py); executions recorded before that replay unchanged.
    EARLY_TIMER_PATCH = "handoff-acceptance-early-timer"
    # Acting on the submission while an escalation's targets are looked up stops that escalation; the marker is
    # written only when that happens, so executions recorded before it replay unchanged.
    ESCALATION_RACE_PATCH = "handoff-escalation-yields-to-action"

    async def _watch_legacy(self) -> None:
        while self._handoff.status not in FINAL_STATUSES:
            await workflow.wait_condition(
                lambda: self._handoff.status == HandoffStatus.submitted or self._handoff.status in FINAL_STATUSES
            )
            if self._handoff.status == HandoffStatus.submitted:
                await self._watch_acceptance_legacy(self._submissions)

    async def _watch_acceptance_legacy(self, submission: int) -> None:
        """Escalate step by step while this submission waits; acting on it (or a new submission) stops it."""
        due = self._handoff.acceptance_due_at
        if not await self._wait_for_receiver_legacy(submission, due - workflow.now()):
            return
        await self._audit("acceptance_sla_lapsed", None, detail=f"not accepted within {self._start.spec.acceptance_sla}")
        for level, step in enumerate(self._start.spec.escalation, start=1):
            if not await self._wait_for_receiver_legacy(submission, step.after):
                return
            targets = await look_up(step.to, self._start.account.team, [self._handoff.to_user_id])
            if self._acted_on_legacy(submission) and workflow.patched(self.ESCALATION_RACE_PATCH):
                continue
            await self._escalated(level, step.to, targets)
        await workflow.wait_condition(lambda: self._acted_on_legacy(submission))

    def _acted_on_legacy(self, submission: int) -> bool:
        return self._handoff.status != HandoffStatus.submitted or self._submissions != submission

    async def _wait_for_receiver_legacy(self, submission: int, timeout: timedelta) -> bool:
        """True when `timeout` passed with the submission still waiting."""
        return not await wait_until(lambda: self._acted_on_legacy(submission), workflow.now() + timeout,
                                    self.EARLY_TIMER_PATCH)


class LegacyRitualWorkflow:
    # An item's final outcome, set while its owner's manager is looked up, stops that item's escalation; the marker
    # is written only when that happens, so executions recorded before it replay unchanged.
    OVERDUE_ESCALATION_RACE_PATCH = "ritual-overdue-escalation-yields-to-action"

    async def _prepare_legacy(self, scheduled_at: datetime) -> PreparedRitual:
        return await workflow.execute_activity(
            "prepare_ritual", args=[self._run.ritual_key, self._run.motion, scheduled_at], result_type=PreparedRitual,
            **DB_ACTIVITY,
        )

    async def _save_legacy(self) -> None:
        await save("save_ritual", self._revision, self.state())

    async def _track_legacy(self) -> None:
        while not (self._agenda.status == AgendaStatus.closed and all(i.is_final for i in self._agenda.action_items)):
            deadlines = [d for i in self._agenda.action_items if not i.is_final and (d := self._deadline_legacy(i))]
            if self._agenda.status == AgendaStatus.open:
                deadlines.append(self._start.closes_at)
            seen = self._changes
            remaining = min(deadlines) - workflow.now() if deadlines else None
            if remaining is None or remaining > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._changes != seen, timeout=remaining)
                    continue
                except asyncio.TimeoutError:
                    pass
            await self._fire_deadlines_legacy()

    @staticmethod
    def _deadline_legacy(item: ActionItem) -> datetime | None:
        if not item.overdue_paged:
            return item.due_at
        return None if item.escalated_at else item.escalate_at

    async def _fire_deadlines_legacy(self) -> None:
        now = workflow.now()
        if self._agenda.status == AgendaStatus.open and now >= self._start.closes_at:
            self._agenda.status = AgendaStatus.closed
        for item in [i for i in self._agenda.action_items if not i.is_final]:
            if not item.overdue_paged and now >= item.due_at:
                item.overdue_paged = True
                await self._page(item, [item.owner_id], "overdue", f"Action item overdue ({self._start.ritual.name}): {item.title}")
            elif item.overdue_paged and not item.escalated_at and now >= item.escalate_at:
                managers = await look_up("manager", {}, [item.owner_id])
                if item.is_final and workflow.patched(self.OVERDUE_ESCALATION_RACE_PATCH):
                    continue
                item.escalated_at, item.escalated_to = now, managers
                await self._page(item, managers, "escalation",
                                 f"{item.owner_id}'s action item from {self._start.ritual.name} is overdue: {item.title}")
        await self._save()
