"""RitualWorkflow: one per ritual meeting and motion, started by the ritual's schedule `lead` before the meeting.
It builds and stores the agenda, posts it to the ritual's webhook, then tracks the meeting's action items until the
next meeting closes the agenda and every item has a final outcome: an overdue item pages its owner, then the
owner's manager. Adding an item and recording its outcome are Updates with validators (Layer IV).

The hand-over: the next meeting's run takes over the open items, so a run never outlives its week. When the
schedule starts the next run it cancels this one first (overlap policy CANCEL_OTHER, services/rituals.py) and
starts the next only once this one has closed; cancelled, a run closes its agenda, releases its open items in the
read model and completes. The next run takes the released items over in one database transaction (each item
once, whoever else asks), and has a run that still holds some (started by hand, or before this code) cancelled,
then asks again; a run that is gone without releasing (failed, terminated) has its items taken as they stood."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.common import Revision, Role, is_filled
    from models.flywheel import ObservationRequest
    from models.rituals import (
        ActionItem,
        ActionItemOutcomeInput,
        AddActionItemInput,
        AgendaPost,
        AgendaStatus,
        BuildAgendaRequest,
        BLOCKED_ON_MAX,
        MAX_ACTION_ITEMS,
        NOTE_MAX,
        REF_MAX,
        TITLE_MAX,
        AMOUNT_MAX,
        MEETING_REF,
        REASON_MAX,
        NEEDS_REASON,
        VOCABULARY,
        Carry,
        Decision,
        ItemDecision,
        RecordDecisionInput,
        RitualResume,
        RitualRun,
        RitualStart,
        RitualState,
        TakeOver,
    )
    from models.routing import EscalationStep
    from models.tasks import Outcome
    from workflows.activity_types import FlywheelActivities, RitualActivities
    from workflows.escalation import Deadline, EscalationLadder, to_manager
    from workflows.legacy import LegacyRitualWorkflow
    from workflows.paging import DB_ACTIVITY, WEBHOOK_RETRY, deliveries_finished, in_background, page
    from workflows.refusals import refuse

# Temporal sets it on every workflow a schedule starts: the nominal time of that action.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
BUILD_TIMEOUT = timedelta(minutes=5)  # a large book's agenda reads many rows; it is built once a week
RUNNERS = frozenset({Role.manager, Role.vp, Role.csm_lead, Role.revops, Role.admin})
# The agenda's closing and the action items' due dates run on the escalation ladder (workflows/escalation.py) and
# activities are typed; executions started before replay their own code (workflows/legacy.py).
LADDER_PATCH = "ritual-escalation-ladder"
AGENDA = "agenda"  # the agenda's closing at the next meeting, on the ladder (the items' are their ids)
# The next meeting's run takes over the open items (module docstring); a save sends only what changed.
HANDOVER_PATCH = "ritual-hand-over-to-next-meeting"
COMPACT_SAVE_PATCH = "ritual-save-changes-only"
# The meeting records a decision per agenda item (models/rituals.py decidable_refs): runs started before have none.
DECISIONS_PATCH = "ritual-decision-per-agenda-item"
# How long a run waits, between asks, for an earlier run to release its items (it does within seconds unless its
# worker is down): then it tracks its own items and leaves the rest to the next meeting's run.
TAKE_OVER_WAITS = (timedelta(0), timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))


@workflow.defn
class RitualWorkflow(LegacyRitualWorkflow):
    @workflow.init
    def __init__(self, run: RitualRun) -> None:
        self._run = run
        self._ladder = EscalationLadder(self._deadline_passed, self._escalate, account_team={})
        self._start: RitualStart | None = None
        self._agenda = RitualState(ritual_key=run.ritual_key, motion=run.motion)
        self._changes = 0
        self._revision = 0
        self._pages = 0
        self._decidable: list[str] = []

    @workflow.run
    async def run(self, run: RitualRun) -> RitualState:
        if run.resume is not None:
            return await self._resume(run.resume)
        scheduled_at = run.scheduled_at or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        if self._legacy:
            prepared = await self._prepare_legacy(scheduled_at)
        else:
            prepared = await workflow.execute_activity_method(
                RitualActivities.prepare_ritual_run, run.model_copy(update={"scheduled_at": scheduled_at}), **DB_ACTIVITY
            )
        if prepared.start is None:
            workflow.logger.info("ritual %s (%s) not run: %s", run.ritual_key, run.motion, prepared.reason)
            return self.state()
        self._start = start = prepared.start
        self._agenda.meeting_at, self._agenda.closes_at = start.meeting_at, start.closes_at
        agenda = await workflow.execute_activity_method(
            RitualActivities.build_agenda,
            BuildAgendaRequest(start=start, as_of=workflow.now(), workflow_id=workflow.info().workflow_id),
            start_to_close_timeout=BUILD_TIMEOUT,
            retry_policy=DB_ACTIVITY["retry_policy"],
        )
        if not agenda.owned:  # decided by the activity, so a replay under another workflow id takes the same path
            workflow.logger.info("agenda %s is already tracked by %s", agenda.id, agenda.workflow_id)
            return self.state()
        self._agenda.agenda_id = agenda.id
        if workflow.patched(DECISIONS_PATCH):
            self._decidable = agenda.decidable
        if start.ritual.webhook_url:
            in_background(self._post_agenda(str(start.ritual.webhook_url)))
        return await self._track_then_end(take_over=workflow.patched(HANDOVER_PATCH))

    async def _track_then_end(self, take_over: bool = False) -> RitualState:
        try:
            if take_over:
                await self._take_over()
            await self._track()
        except asyncio.CancelledError:
            if not workflow.patched(HANDOVER_PATCH):
                raise
            await self._release()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await deliveries_finished()
        if not self._finished and self._long_enough:
            self._continue_as_new()
        return self.state()

    @workflow.query
    def state(self) -> RitualState:
        return self._agenda

    # --- adding an action item -------------------------------------------------------------------------

    @workflow.update
    async def add_action_item(self, request: AddActionItemInput) -> ActionItem:
        start = self._start
        due_at = request.due_at or start.meeting_at + start.ritual.action_item_due
        item = ActionItem(
            id=f"{self._agenda.agenda_id}-a{self._own_items + 1}",
            agenda_id=self._agenda.agenda_id,
            ritual_key=start.ritual.key,
            motion=start.motion,
            title=request.title,
            owner_id=request.owner_id,
            due_at=due_at,
            created_at=workflow.now(),
            created_by=request.actor.id,
            ref_id=request.ref_id,
            escalate_at=due_at + start.ritual.escalate_after,
        )
        self._agenda.action_items.append(item)
        self._ladder.arm(Deadline(key=item.id, due_at=due_at, owners=[item.owner_id], from_due=True,
                                  levels=to_manager(start.ritual.escalate_after)))
        await self._save([item])
        if item.owner_id != request.actor.id:
            await self._page(item, [item.owner_id], "page",
                             f"New action item from {start.ritual.name} ({start.motion}): {item.title}, due {due_at:%a %d %b %H:%M} UTC")
        return item

    @add_action_item.validator
    def _validate_add_action_item(self, request: AddActionItemInput) -> None:
        if self._agenda.agenda_id is None:
            raise refuse("conflict", "the agenda is still being built: try again in a moment")
        if self._agenda.status == AgendaStatus.closed:
            raise refuse("conflict", f"agenda {self._agenda.agenda_id} closed at the next meeting "
                                     f"({self._start.closes_at.isoformat()}): add the item there")
        if self._own_items >= MAX_ACTION_ITEMS:
            raise refuse("conflict", f"agenda {self._agenda.agenda_id} already has {MAX_ACTION_ITEMS} action items, the most "
                                     "one meeting may decide: close some, or add it at the next meeting", {"limit": MAX_ACTION_ITEMS})
        for field, value, most in (("title", request.title, TITLE_MAX), ("ref_id", request.ref_id, REF_MAX)):
            if value is not None and len(value) > most:
                raise refuse("invalid", f"{field} is longer than {most} characters", {"field": field})
        if request.due_at is not None and request.due_at <= workflow.now():
            raise refuse("invalid", f"due_at {request.due_at.isoformat()} is not in the future", {"field": "due_at"})
        actor = request.actor
        if actor.role not in RUNNERS and actor.id != request.owner_id:
            raise refuse("forbidden", "only whoever runs the ritual (manager, vp, csm_lead, revops, admin) assigns action items "
                                      "to others; anyone may take one themselves")

    # --- an action item's outcome ------------------------------------------------------------------------

    @workflow.update
    async def set_action_item_outcome(self, request: ActionItemOutcomeInput) -> ActionItem:
        item = self._item(request.item_id)
        item.outcome = request.outcome
        item.note = request.note
        item.blocked_on = request.blocked_on if request.outcome == Outcome.blocked_waiting_on else None
        item.outcome_at = workflow.now()
        item.outcome_by = request.actor.id
        if item.is_final:
            self._ladder.stop(item.id)
        await self._save([item])
        return item

    @set_action_item_outcome.validator
    def _validate_set_action_item_outcome(self, request: ActionItemOutcomeInput) -> None:
        item = self._item(request.item_id)
        if item is None:
            raise refuse("not_found", f"agenda {self._agenda.agenda_id} has no action item {request.item_id!r}")
        if item.is_final:
            raise refuse("conflict", f"action item {item.id} already has the final outcome {item.outcome.value}")
        if item.holder != self._agenda.agenda_id:
            raise refuse("conflict", f"action item {item.id} was carried over to the next {self._start.ritual.name} "
                                     "meeting: record its outcome there")
        for field, value, most in (("note", request.note, NOTE_MAX), ("blocked_on", request.blocked_on, BLOCKED_ON_MAX)):
            if value is not None and len(value) > most:
                raise refuse("invalid", f"{field} is longer than {most} characters", {"field": field})
        if request.outcome == Outcome.blocked_waiting_on and not is_filled(request.blocked_on):
            raise refuse("invalid", "blocked_waiting_on needs blocked_on: say who or what the item is waiting on")
        actor = request.actor
        if not (actor.id in (item.owner_id, item.created_by) or actor.manages(item.owner_id) or actor.role == Role.admin):
            raise refuse("forbidden", f"only the item's owner ({item.owner_id}), their manager or whoever assigned it may set its outcome")

    # --- a decision on an agenda item -------------------------------------------------------------------------

    @workflow.update
    async def record_decision(self, request: RecordDecisionInput) -> ItemDecision:
        """The meeting's decision on one decidable ref; deciding it again replaces the earlier decision."""
        decision = ItemDecision(decided_at=workflow.now(), decided_by=request.actor.id,
                                **request.model_dump(exclude={"actor"}))
        if decision.decision == Decision.proposed:  # the retro's pattern becomes a flywheel proposal, not only text
            decision.proposal_id = await workflow.execute_activity_method(
                FlywheelActivities.propose_pattern,
                ObservationRequest(agenda_id=self._agenda.agenda_id, actor_id=request.actor.id, at=workflow.now(),
                                   note=request.reason), **DB_ACTIVITY)
        self._agenda.decisions = [d for d in self._agenda.decisions if d.ref_id != request.ref_id] + [decision]
        await self._save([])
        return decision

    @record_decision.validator
    def _validate_record_decision(self, request: RecordDecisionInput) -> None:
        if self._agenda.agenda_id is None:
            raise refuse("conflict", "the agenda is still being built: try again in a moment")
        if not self._decidable:
            raise refuse("conflict", f"agenda {self._agenda.agenda_id} has nothing to decide on (or was built before "
                                     "decisions were recorded)")
        if self._agenda.status == AgendaStatus.closed:
            raise refuse("conflict", f"agenda {self._agenda.agenda_id} closed at the next meeting: its decisions stand")
        if request.ref_id not in self._decidable:
            raise refuse("invalid", f"agenda {self._agenda.agenda_id} has no decidable item {request.ref_id!r}", {"field": "ref_id"})
        kind = self._start.ritual.kind
        if request.decision not in VOCABULARY[kind]:
            raise refuse("invalid", f"a {kind.value} decides {', '.join(sorted(VOCABULARY[kind]))}, not {request.decision.value}",
                         {"field": "decision"})
        if (request.ref_id == MEETING_REF) != (request.decision == Decision.revised_commit):
            raise refuse("invalid", f"the revised commit is decided on {MEETING_REF!r} and only there", {"field": "ref_id"})
        self._check_decision_fields(request)
        if request.actor.role not in RUNNERS:
            raise refuse("forbidden", "only whoever runs the ritual (manager, vp, csm_lead, revops, admin) records its decisions")

    @staticmethod
    def _check_decision_fields(request: RecordDecisionInput) -> None:
        for field, value, most in (("reason", request.reason, REASON_MAX), ("play_run_id", request.play_run_id, REF_MAX)):
            if value is not None and len(value) > most:
                raise refuse("invalid", f"{field} is longer than {most} characters", {"field": field})
        if request.decision in NEEDS_REASON and not is_filled(request.reason):
            raise refuse("invalid", f"{request.decision.value} needs a reason", {"field": "reason"})
        if request.decision == Decision.revised_commit and (request.amount is None or not 0 <= request.amount <= AMOUNT_MAX):
            raise refuse("invalid", f"revised_commit needs an amount from 0 to {AMOUNT_MAX:g}", {"field": "amount"})
        if request.decision == Decision.save_play_started and not is_filled(request.play_run_id):
            raise refuse("invalid", "save_play_started needs the play_run_id of the save play started", {"field": "play_run_id"})

    # --- timers ----------------------------------------------------------------------------------------

    @property
    def _legacy(self) -> bool:
        return not workflow.patched(LADDER_PATCH)

    async def _track(self) -> None:
        """Until the agenda has closed and every item has a final outcome: close the agenda at the next meeting,
        page an overdue item's owner at its due date, then the owner's manager `escalate_after` later."""
        if self._legacy:
            return await self._track_legacy()
        if self._agenda.status == AgendaStatus.open:
            self._ladder.arm(Deadline(key=AGENDA, due_at=self._start.closes_at))
        await self._ladder.run(done=lambda: self._finished or self._long_enough)

    @property
    def _finished(self) -> bool:
        """The agenda has closed and every item it tracks has a final outcome (or was handed over)."""
        return self._agenda.status == AgendaStatus.closed and all(
            i.is_final or i.holder != self._agenda.agenda_id for i in self._agenda.action_items)

    @property
    def _long_enough(self) -> bool:
        """A closed agenda whose items stay open (its ritual was disabled: no next meeting takes them over) keeps
        its run going; its history is cut short by continuing as new."""
        return self._agenda.status == AgendaStatus.closed and workflow.info().is_continue_as_new_suggested()

    async def _deadline_passed(self, deadline: Deadline) -> None:
        if deadline.key == AGENDA:
            self._agenda.status = AgendaStatus.closed
            changed = []
        else:
            item = changed = self._item(deadline.key)
            item.overdue_paged = True
            await self._page(item, [item.owner_id], "overdue", f"Action item overdue ({self._start.ritual.name}): {item.title}")
        await self._save([changed] if changed else [])

    async def _escalate(self, deadline: Deadline, step: EscalationStep, managers: list[str]) -> None:
        item = self._item(deadline.key)
        item.escalated_at, item.escalated_to = deadline.fired_at, managers
        await self._page(item, managers, "escalation",
                         f"{item.owner_id}'s action item from {self._start.ritual.name} is overdue: {item.title}")
        await self._save([item])

    # --- the hand-over to the next meeting ---------------------------------------------------------------

    async def _release(self) -> None:
        """Cancelled (the next meeting's run is starting): close the agenda and release the open items it tracks
        to that run, in the read model, before completing."""
        self._agenda.status = AgendaStatus.closed
        released = [i for i in self._agenda.action_items if not i.is_final and i.holder == self._agenda.agenda_id]
        for item in released:
            item.carries.append(Carry(from_agenda_id=self._agenda.agenda_id, from_meeting_at=self._start.meeting_at,
                                      released_at=workflow.now()))
            self._ladder.stop(item.id)
        await self._save(released)

    async def _take_over(self) -> None:
        """Take over the open items of the ritual's earlier meetings. A run that still holds some is asked to hand
        them over (the activity cancels it: it releases them as it ends); ask again until it has."""
        for wait in TAKE_OVER_WAITS:
            if wait:
                await workflow.sleep(wait)
            taken = await workflow.execute_activity_method(
                RitualActivities.take_over_action_items,
                TakeOver(agenda_id=self._agenda.agenda_id, ritual_key=self._run.ritual_key, motion=self._run.motion,
                         meeting_at=self._start.meeting_at, at=workflow.now()),
                **DB_ACTIVITY,
            )
            self._adopt(taken.items)
            if not taken.waiting_for:
                return
        workflow.logger.warning("agenda %s: %s still hold open action items", self._agenda.agenda_id, taken.waiting_for)

    def _adopt(self, items: list[ActionItem]) -> None:
        for item in items:
            if self._item(item.id) is None:
                self._agenda.action_items.append(item)
                self._arm(item)

    def _arm(self, item: ActionItem) -> None:
        """Watch a taken-over (or resumed) item's due date from the stage it had reached."""
        if item.is_final or item.escalated_at is not None or item.holder != self._agenda.agenda_id:
            return
        deadline = Deadline(key=item.id, due_at=item.due_at, owners=[item.owner_id], from_due=True,
                            levels=to_manager(self._start.ritual.escalate_after))
        if item.overdue_paged:
            deadline.stage, deadline.next_at = 1, item.escalate_at or item.due_at + self._start.ritual.escalate_after
        self._ladder.arm(deadline)

    @property
    def _own_items(self) -> int:
        return sum(1 for i in self._agenda.action_items if i.agenda_id == self._agenda.agenda_id)

    # --- continuing as new ---------------------------------------------------------------------------------

    def _continue_as_new(self) -> None:
        resume = RitualResume(start=self._start, state=self._agenda, revision=self._revision, pages=self._pages,
                              decidable=self._decidable)
        workflow.continue_as_new(self._run.model_copy(update={"resume": resume}))

    async def _resume(self, resume: RitualResume) -> RitualState:
        self._start, self._agenda = resume.start, resume.state
        self._revision, self._pages, self._decidable = resume.revision, resume.pages, resume.decidable
        for item in self._agenda.action_items:
            self._arm(item)
        return await self._track_then_end()

    # --- side effects ------------------------------------------------------------------------------------

    def _item(self, item_id: str) -> ActionItem | None:
        return next((i for i in self._agenda.action_items if i.id == item_id), None)

    async def _page(self, item: ActionItem, user_ids: list[str], kind: str, text: str) -> None:
        self._pages += 1
        await page(user_ids, kind=kind, subject_type="action_item", subject_id=item.id, text=text, key=f"page-{self._pages}")

    async def _post_agenda(self, url: str) -> None:
        """Runs beside the tracking: a slow or dead webhook never holds up the action items."""
        try:
            await workflow.execute_activity_method(RitualActivities.post_agenda, AgendaPost(url=url, agenda_id=self._agenda.agenda_id),
                                                   start_to_close_timeout=timedelta(seconds=30), retry_policy=WEBHOOK_RETRY)
        except ActivityError:
            workflow.logger.warning("webhook %s gave up on agenda %s", url, self._agenda.agenda_id)

    async def _save(self, changed: list[ActionItem] | None = None) -> None:
        """Wake the timer loop and write the read model: the agenda's status and the action items that `changed`
        (all of them when None, and on executions started before, whose histories record the whole state)."""
        self._changes += 1
        self._revision += 1
        if self._legacy:
            await self._save_legacy()
            return
        state = self.state()
        if changed is not None and workflow.patched(COMPACT_SAVE_PATCH):
            state = state.model_copy(update={"action_items": changed})
        await workflow.execute_activity_method(
            RitualActivities.save_ritual_state, Revision(revision=self._revision, state=state), **DB_ACTIVITY
        )
