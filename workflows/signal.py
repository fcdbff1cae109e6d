"""SignalWorkflow: one per signal. Owner, SLA, escalation ladder, acknowledgement, reassignment (seam 01),
and the signal's tasks with their due timers and structured outcomes (seam 02)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.calendars import in_words
    from models.common import Revision, Role, TimelineEntry
    from models.routing import EscalationStep
    from models.tasks import FINAL_OUTCOMES, AddTaskInput, Outcome, SignalTasks, Task, TaskOutcomeInput
    from models.signals import (
        MAX_REASSIGNMENTS,
        MAX_TASKS,
        AcknowledgeInput,
        ReassignInput,
        SignalChange,
        SignalDetail,
        SignalHead,
        SignalPage,
        SignalPageChange,
        SignalStart,
        SignalStatus,
    )
    from workflows import metrics, search_attributes as sa
    from models.plays import PlayStart
    from workflows.activity_types import PlayActivities, SignalActivities
    from workflows.escalation import Deadline, EscalationLadder, WallClock, to_manager
    from workflows.legacy import PAGE_AND_SAVE_PATCH, LegacySignalWorkflow
    from workflows.paging import DB_ACTIVITY, deliver_in_background, deliveries_finished, notify_request, page
    from workflows.refusals import refuse

# The SLA and the tasks' due dates run on the escalation ladder (workflows/escalation.py) and the read model is
# saved by typed activities; executions started before replay their own code (workflows/legacy.py).
LADDER_PATCH = "signal-escalation-ladder"
PLAY_FROM_SIGNAL_PATCH = "signal-starts-the-play-its-task-names"
# Each save sends what changed (the row's columns, the new timeline entries, the task that changed) and updates
# answer without the timeline, tasks and evidence: a change costs the history the same at the 500th as at the first.
COMPACT_PATCH = "signal-saves-compact-changes"
SLA = "sla"  # the SLA's deadline on the ladder (the tasks' are their ids)
# Owners chosen at the start from a rotation or a round robin: who and why goes on the timeline before the first page
OWNER_CHOICE_PATCH = "signal-records-why-its-owner-was-chosen"
# SLA clocks (issue 19), each used only where its rule asks for it: the SLA and its escalation count business hours;
# a warning pages the owners before the breach; an acknowledgement with no task re-pages them, then escalates.
BUSINESS_CLOCK_PATCH = "signal-sla-business-clock"
SLA_WARNING_PATCH = "signal-sla-warning-before-breach"
REPAGE_PATCH = "signal-repage-after-acknowledgement"
WARNING = "sla_warning"
REPAGE = "repage"


@workflow.defn
class SignalWorkflow(LegacySignalWorkflow):
    @workflow.init
    def __init__(self, start: SignalStart) -> None:
        self._start = start
        self._signal = SignalDetail(
            id=start.id,
            family=start.family,
            severity=start.severity,
            account_id=start.account.id,
            status=SignalStatus.open,
            owners=list(start.owners),
            sla_due_at=start.sla_due_at,
            routing_version=start.routing_version,
            created_at=start.created_at,
            evidence=start.evidence,
            timeline=[TimelineEntry(
                at=start.created_at,
                type="created",
                actor=start.created_by,
                detail=f"{start.severity} {start.family} on {start.account.name}, routing v{start.routing_version}"
                       + (f"; the SLA counts {start.business_hours.describe()}" if start.business_hours else ""),
            )],
        )
        business = start.business_hours is not None and workflow.patched(BUSINESS_CLOCK_PATCH)
        clock = start.business_hours if business else WallClock()
        self._ladder = EscalationLadder(self._deadline_passed, self._escalate, start.account.team, clock)
        self._arm_sla(start.created_at)  # before any handler runs: an acknowledgement may come in while the first page is sent
        self._sla_restarted = False
        self._revision = 0
        self._pages = 0
        self._task_revision = 0
        self._task_changes = 0
        self._timeline_saved = 0  # entries before this one are in a save already (compact saves)
        self._evidence_saved = False
        self._reassignments = 0

    @workflow.run
    async def run(self, start: SignalStart) -> SignalDetail:
        legacy = self._legacy
        if start.owner_choices and workflow.patched(OWNER_CHOICE_PATCH):
            for choice in start.owner_choices:
                self._record("owner_chosen", None, f"{choice.user_id} via {choice.via}: {choice.reason}")
        self._publish()
        metrics.signal_opened(start.family, start.severity.value)
        await self._page(self._signal.owners, "page", f"New {start.severity} signal {start.family} on {start.account.name}")
        if legacy:
            await self._watch_legacy()
        else:
            await self._ladder.run(done=lambda: self._signal.status == SignalStatus.resolved)
        await workflow.wait_condition(lambda: self._signal.status == SignalStatus.resolved)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await deliveries_finished()
        return self.state()

    @workflow.query
    def state(self) -> SignalDetail:
        return self._signal

    # --- acknowledgement -------------------------------------------------------------------------------

    @workflow.update
    async def acknowledge(self, request: AcknowledgeInput) -> SignalDetail:
        """Answers with the signal (the API offers task candidates for it without querying again)."""
        self._signal.acknowledged_by = request.actor.id
        self._signal.status = SignalStatus.acknowledged
        self._ladder.stop(SLA)
        self._ladder.stop(WARNING)
        self._record("acknowledged", request.actor.id, f"acknowledged by {request.actor.id}")
        self._arm_repage(request.actor.id)
        await self._changed()
        return self._answer()

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeInput) -> None:
        if self._signal.status not in (SignalStatus.open, SignalStatus.escalated):
            raise refuse("conflict", f"signal {self._start.id} is already {self._signal.status}")
        if request.actor.id not in self._signal.owners + self._signal.escalated_to:
            raise refuse(
                "forbidden",
                f"only an owner ({', '.join(self._signal.owners)}) or an escalation target may acknowledge this signal",
            )

    # --- reassignment ----------------------------------------------------------------------------------

    @workflow.update
    async def reassign(self, request: ReassignInput) -> SignalDetail:
        previous = ", ".join(self._signal.owners)
        self._signal.owners = [request.to_user_id]
        self._signal.escalation_level = 0
        self._signal.escalated_to = []
        self._signal.status = SignalStatus.open
        self._signal.sla_due_at = self._ladder.due(self._start.rule.sla)
        self._sla_restarted = True
        self._reassignments += 1
        self._arm_sla(workflow.now())
        self._record(
            "reassigned", request.actor.id, f"from {previous} to {request.to_user_id}: {request.reason}"
        )
        await self._changed()
        await self._page(self._signal.owners, "page", f"Signal {self._start.family} on {self._start.account.name} reassigned to you")
        return self._answer()

    @reassign.validator
    def _validate_reassign(self, request: ReassignInput) -> None:
        if self._signal.status not in (SignalStatus.open, SignalStatus.escalated):
            raise refuse("conflict", f"signal {self._start.id} is {self._signal.status}; reassign its tasks instead")
        actor = request.actor
        allowed = (
            actor.id in self._signal.owners
            or actor.id in self._signal.escalated_to
            or actor.role == Role.admin
            or any(actor.manages(owner) for owner in self._signal.owners)
        )
        if not allowed:
            raise refuse("forbidden", "only an owner of this signal or their manager may reassign it")
        if request.to_user_id in self._signal.owners and len(self._signal.owners) == 1:
            raise refuse("conflict", f"{request.to_user_id} already owns this signal")
        if self._reassignments >= MAX_REASSIGNMENTS:
            raise refuse("conflict", f"signal {self._start.id} has been reassigned {MAX_REASSIGNMENTS} times, the most "
                         "one signal may be: acknowledge it, or have a manager take it")

    # --- tasks (seam 02) -------------------------------------------------------------------------------

    @workflow.update
    async def add_task(self, request: AddTaskInput) -> Task:
        due_at = request.due_at
        task = Task(
            id=f"{self._start.id}-t{len(self._signal.tasks) + 1}",
            signal_id=self._start.id,
            template_key=request.template_key,
            title=request.title,
            owner_id=request.owner_id,
            due_at=due_at,
            play_run_id=request.play_run_id,
            created_at=workflow.now(),
            escalate_at=self._ladder.clock.add(due_at, timedelta(seconds=request.escalate_after_seconds)),
        )
        self._signal.tasks.append(task)
        self._ladder.stop(REPAGE)  # a task chosen: its own due date watches it from now on
        if not task.play_run_id:  # a play's steps carry its due dates and escalation
            self._ladder.arm(Deadline(key=task.id, due_at=due_at, owners=[task.owner_id], from_due=True,
                                      levels=to_manager(timedelta(seconds=request.escalate_after_seconds))))
        self._record("task_added", request.actor.id, f"{task.id} {task.title!r} for {task.owner_id}, due {due_at.isoformat()}")
        await self._tasks_changed(task)
        if request.play_start and workflow.patched(PLAY_FROM_SIGNAL_PATCH):
            # Started from here, under the run id the API assigned: once the task is recorded its play starts,
            # exactly once, whatever fails in between (a retry finds the run already started).
            start = PlayStart.model_validate(request.play_start).model_copy(update={"task_id": task.id})
            await workflow.execute_activity_method(PlayActivities.start_play, start, **DB_ACTIVITY)
        if task.owner_id != request.actor.id:
            await self._page_task(task, [task.owner_id], "page", f"New task on {self._start.account.name}: {task.title}")
        return task

    @add_task.validator
    def _validate_add_task(self, request: AddTaskInput) -> None:
        if self._signal.status in (SignalStatus.open, SignalStatus.escalated):
            raise refuse("conflict", f"signal {self._start.id} is {self._signal.status}: acknowledge it before adding tasks")
        if self._signal.status == SignalStatus.resolved:
            raise refuse("conflict", f"signal {self._start.id} is already resolved")
        actor = request.actor
        involved = self._signal.owners + self._signal.escalated_to + [self._signal.acknowledged_by]
        if not (actor.id in involved or actor.role == Role.admin or any(actor.manages(u) for u in involved)):
            raise refuse("forbidden", "only an owner of this signal, an escalation target or their manager may add tasks")
        if len(self._signal.tasks) >= MAX_TASKS:
            raise refuse("conflict", f"signal {self._start.id} has {MAX_TASKS} tasks, the most one signal may have: "
                         "give the open ones an outcome, or raise a new signal")
        if request.play_start is not None:
            try:
                PlayStart.model_validate(request.play_start)
            except ValueError as error:
                raise refuse("invalid", f"the play to start is not valid: {error}") from None

    @workflow.update
    async def set_task_outcome(self, request: TaskOutcomeInput) -> Task:
        task = self._task(request.task_id)
        task.outcome = request.outcome
        task.note = request.note
        task.blocked_on = request.blocked_on if request.outcome == Outcome.blocked_waiting_on else None
        task.outcome_at = workflow.now()
        task.outcome_by = request.actor.id if request.actor else f"play:{request.via_play_run}"
        detail = f"{task.id} {task.outcome.value}" + (f" (waiting on {task.blocked_on})" if task.blocked_on else "")
        self._record("task_outcome", task.outcome_by, detail)
        if task.is_final:
            self._ladder.stop(task.id)
        if all(t.outcome in FINAL_OUTCOMES for t in self._signal.tasks):
            self._signal.status = SignalStatus.resolved
            self._record("resolved", None, "every task has a final outcome")
        await self._tasks_changed(task)
        return task

    @set_task_outcome.validator
    def _validate_set_task_outcome(self, request: TaskOutcomeInput) -> None:
        task = self._task(request.task_id)
        if task is None:
            raise refuse("not_found", f"signal {self._start.id} has no task {request.task_id!r}")
        if task.outcome in FINAL_OUTCOMES:
            raise refuse("conflict", f"task {task.id} already has the final outcome {task.outcome.value}")
        if request.outcome == Outcome.blocked_waiting_on and not request.blocked_on:
            raise refuse("invalid", "blocked_waiting_on needs blocked_on: say who or what the task is waiting on")
        actor = request.actor
        by_its_play = request.via_play_run is not None and request.via_play_run == task.play_run_id
        by_a_person = actor is not None and (
            actor.id == task.owner_id or actor.manages(task.owner_id) or actor.role == Role.admin
        )
        if not (by_its_play or by_a_person):
            raise refuse("forbidden", f"only the task's owner ({task.owner_id}) or their manager may set its outcome")

    def _task(self, task_id: str) -> Task | None:
        return next((t for t in self._signal.tasks if t.id == task_id), None)

    async def _page_task(self, task: Task, user_ids: list[str], kind: str, text: str) -> None:
        self._pages += 1
        await page(user_ids, kind=kind, subject_type="task", subject_id=task.id, text=text, key=f"page-{self._pages}")

    async def _tasks_changed(self, task: Task | None = None) -> None:
        self._task_changes += 1
        self._task_revision += 1
        if self._legacy:
            await self._save_tasks_legacy()
        elif self._compact:
            await self._changed(task)  # one save: the signal's columns and this task
            return
        else:
            tasks = SignalTasks(account_id=self._start.account.id, tasks=self._signal.tasks)
            await self._save(SignalActivities.save_signal_tasks, Revision(revision=self._task_revision, state=tasks))
        await self._changed()

    # --- the SLA's and the tasks' deadlines, on the escalation ladder ----------------------------------------

    @property
    def _legacy(self) -> bool:
        return not workflow.patched(LADDER_PATCH)

    def _arm_sla(self, since) -> None:
        """Each lapse fires the next escalation level; acknowledging stops it and a reassignment restarts it."""
        self._ladder.arm(Deadline(key=SLA, due_at=self._signal.sla_due_at, owners=self._signal.owners, levels=self._start.rule.escalation))
        warn_at = self._start.rule.warn_at
        if warn_at is None or not workflow.patched(SLA_WARNING_PATCH):
            return
        warning_at = self._ladder.clock.add(since, self._start.rule.sla * warn_at)
        if warning_at < self._signal.sla_due_at:
            self._ladder.arm(Deadline(key=WARNING, due_at=warning_at, owners=self._signal.owners))

    def _arm_repage(self, acknowledged_by: str) -> None:
        """An acknowledgement does not silence a signal: with no task chosen within `repage_after`, its owners and
        whoever acknowledged it are paged again, and `repage_after` later their managers."""
        after = self._start.rule.repage_after
        if after is None or self._signal.tasks or not workflow.patched(REPAGE_PATCH):
            return
        owners = self._signal.owners + [acknowledged_by] * (acknowledged_by not in self._signal.owners)
        self._ladder.arm(Deadline(key=REPAGE, due_at=self._ladder.due(after), owners=owners, levels=to_manager(after)))

    async def _deadline_passed(self, deadline: Deadline) -> None:
        if deadline.key == WARNING:
            left = in_words(self._signal.sla_due_at - workflow.now())
            if self._start.business_hours is not None:  # over a weekend "due in 2d 15h" reads better with the time
                left += f" (at {self._start.business_hours.local(self._signal.sla_due_at)})"
            self._record("sla_warning", None, f"due in {left}, unacknowledged")
            await self._page(deadline.owners, "sla_warning", f"Due in {left}: {self._start.severity} {self._start.family} "
                             f"on {self._start.account.name} is unacknowledged")
            return
        if deadline.key == REPAGE:
            waited = in_words(workflow.now() - self._start.created_at)
            self._record("repaged", None, f"acknowledged by {self._signal.acknowledged_by}, no task after "
                         f"{in_words(self._start.rule.repage_after)}")
            await self._page(deadline.owners, "repage", f"Still no task: {self._start.family} on "
                             f"{self._start.account.name}, raised {waited} ago, was acknowledged — choose a task")
            return
        if deadline.key == SLA:
            self._record("sla_lapsed", None, f"SLA of {self._start.rule.sla} lapsed unacknowledged")
            metrics.sla_breached(self._start.family, self._start.severity.value)
            await self._changed()
            return
        task = self._task(deadline.key)
        task.overdue_paged = True
        task.escalate_at = max(task.escalate_at, deadline.fired_at)
        self._record("task_overdue", None, f"{task.id} is past its due date")
        await self._page_task(task, [task.owner_id], "overdue", f"Task overdue on {self._start.account.name}: {task.title}")
        await self._tasks_changed(task)

    async def _escalate(self, deadline: Deadline, level: EscalationStep, targets: list[str]) -> None:
        if deadline.key == REPAGE:
            await self._escalate_repage(targets)
            return
        if deadline.key != SLA:
            task = self._task(deadline.key)
            task.escalated_at, task.escalated_to = deadline.fired_at, targets
            self._record("task_escalated", None, f"{task.id} overdue: escalated to {', '.join(targets) or 'nobody'}")
            await self._page_task(
                task, targets, "escalation", f"{task.owner_id}'s task on {self._start.account.name} is overdue: {task.title}"
            )
            await self._tasks_changed(task)
            return
        await self._escalate_sla(deadline.level, level.to, targets)

    async def _escalate_sla(self, level: int, to: str, targets: list[str]) -> None:
        self._signal.escalation_level = level
        self._signal.status = SignalStatus.escalated
        if not targets:
            metrics.escalation_fired("signal")  # fired all the same: it pages nobody
            self._record("escalation_unassigned", None, f"level {level}: nobody holds {to!r} for this account")
            await self._changed()
            return
        self._signal.escalated_to += [t for t in targets if t not in self._signal.escalated_to]
        self._record("escalated", None, f"level {level} to {to}: {', '.join(targets)}")
        await self._changed()
        await self._page(
            targets,
            "escalation",
            f"Escalation level {level}: {self._start.severity} {self._start.family} on {self._start.account.name} "
            f"is unacknowledged past its SLA",
        )

    async def _escalate_repage(self, targets: list[str]) -> None:
        """Whom it reaches may add the tasks (the escalation targets may); the signal stays acknowledged."""
        self._signal.escalated_to += [t for t in targets if t not in self._signal.escalated_to]
        self._record("repage_escalated", None, f"acknowledged with no task: escalated to {', '.join(targets) or 'nobody'}")
        if not targets:
            await self._changed()
            return
        await self._page(targets, "escalation", f"{self._signal.acknowledged_by} acknowledged {self._start.family} on "
                         f"{self._start.account.name} but has chosen no task")

    # --- bookkeeping -----------------------------------------------------------------------------------

    def _record(self, type_: str, actor: str | None, detail: str) -> None:
        self._signal.timeline.append(TimelineEntry(at=workflow.now(), type=type_, actor=actor, detail=detail))

    async def _page(self, user_ids: list[str], kind: str, text: str) -> None:
        self._pages += 1
        paging = dict(kind=kind, subject_type="signal", subject_id=self._start.id, text=text, key=f"page-{self._pages}")
        if self._legacy and not workflow.patched(PAGE_AND_SAVE_PATCH):
            await page(user_ids, **paging)
            self._record("paged", None, f"{kind} sent to {', '.join(user_ids)}")
            await self._changed()
            return
        request = notify_request(user_ids, **paging)
        self._record("paged", None, f"{kind} sent to {', '.join(user_ids)}")
        if request is None:
            await self._changed()
            return
        self._publish()
        self._revision += 1
        if self._compact:
            change = SignalPageChange(notify=request, change=self._change())
            deliver_in_background(await self._save(SignalActivities.page_and_save_signal_change, change))
            return
        deliveries = await self._save(
            SignalActivities.page_and_save_signal, SignalPage(notify=request, revision=self._revision, signal=self.state())
        )
        deliver_in_background(deliveries)

    async def _changed(self, task: Task | None = None) -> None:
        """Publish the new state: search attributes for visibility, and the read model row (and `task`'s)."""
        self._publish()
        self._revision += 1
        if self._legacy:
            await self._save_signal_legacy()
        elif self._compact:
            await self._save(SignalActivities.save_signal_change, self._change(task))
        else:
            await self._save(SignalActivities.save_signal_state, Revision(revision=self._revision, state=self.state()))

    async def _save(self, method, request):
        """The read-model writes run as local activities on the ladder: a short database write needs no activity task
        of its own, and the signal's first page then costs the server one workflow task instead of two."""
        if self._legacy:
            return await workflow.execute_activity_method(method, request, **DB_ACTIVITY)
        return await workflow.execute_local_activity_method(method, request, **DB_ACTIVITY)

    @property
    def _compact(self) -> bool:
        return not self._legacy and workflow.patched(COMPACT_PATCH)

    def _change(self, task: Task | None = None) -> SignalChange:
        """The save of this revision: the entries no save has carried yet, the evidence only once."""
        timeline, first = self._signal.timeline, self._timeline_saved
        self._timeline_saved = len(timeline)
        evidence = None if self._evidence_saved else self._signal.evidence
        self._evidence_saved = True
        return SignalChange(revision=self._revision, signal=self._head(), timeline_from=first, timeline=timeline[first:],
                            task=task, task_revision=self._task_revision, evidence=evidence)

    def _head(self) -> SignalHead:
        return SignalHead.model_validate(self._signal.model_dump(include=set(SignalHead.model_fields)))

    def _answer(self) -> SignalDetail:
        """An update's answer, recorded in the history: the signal without its timeline, tasks and evidence (the API
        reads those with a query, which costs the history nothing)."""
        if not self._compact:
            return self.state()
        return SignalDetail.model_validate(self._head().model_dump())

    def _publish(self) -> None:
        start = self._start
        attributes = [
            sa.ACCOUNT_ID.value_set(start.account.id),
            sa.FAMILY.value_set(start.family),
            sa.SEVERITY.value_set(start.severity.value),
            sa.STATUS.value_set(self._signal.status.value),
            sa.OWNER_IDS.value_set(self._signal.owners),
            sa.ESCALATION_LEVEL.value_set(self._signal.escalation_level),
        ]
        if not self._legacy:  # each upsert is a visibility write on the server: send only what changed
            current = workflow.info().typed_search_attributes
            attributes = [a for a in attributes if current.get(a.key) != a.value]
        if attributes:
            workflow.upsert_search_attributes(attributes)
