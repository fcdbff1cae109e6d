"""RitualWorkflow: one per ritual meeting and motion, started by the ritual's schedule `lead` before the meeting.
It builds and stores the agenda, posts it to the ritual's webhook, then tracks the meeting's action items until the
next meeting closes the agenda and every item has a final outcome: an overdue item pages its owner, then the
owner's manager. Adding an item and recording its outcome are Updates with validators (Layer IV)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.common import Revision, Role, is_filled
    from models.rituals import (
        ActionItem,
        ActionItemOutcomeInput,
        AddActionItemInput,
        AgendaPost,
        AgendaStatus,
        BuildAgendaRequest,
        RitualRun,
        RitualStart,
        RitualState,
    )
    from models.routing import EscalationStep
    from models.tasks import Outcome
    from workflows.activity_types import RitualActivities
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

    @workflow.run
    async def run(self, run: RitualRun) -> RitualState:
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
        if start.ritual.webhook_url:
            in_background(self._post_agenda(str(start.ritual.webhook_url)))
        await self._track()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await deliveries_finished()
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
            id=f"{self._agenda.agenda_id}-a{len(self._agenda.action_items) + 1}",
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
        await self._save()
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
        await self._save()
        return item

    @set_action_item_outcome.validator
    def _validate_set_action_item_outcome(self, request: ActionItemOutcomeInput) -> None:
        item = self._item(request.item_id)
        if item is None:
            raise refuse("not_found", f"agenda {self._agenda.agenda_id} has no action item {request.item_id!r}")
        if item.is_final:
            raise refuse("conflict", f"action item {item.id} already has the final outcome {item.outcome.value}")
        if request.outcome == Outcome.blocked_waiting_on and not is_filled(request.blocked_on):
            raise refuse("invalid", "blocked_waiting_on needs blocked_on: say who or what the item is waiting on")
        actor = request.actor
        if not (actor.id in (item.owner_id, item.created_by) or actor.manages(item.owner_id) or actor.role == Role.admin):
            raise refuse("forbidden", f"only the item's owner ({item.owner_id}), their manager or whoever assigned it may set its outcome")

    # --- timers ----------------------------------------------------------------------------------------

    @property
    def _legacy(self) -> bool:
        return not workflow.patched(LADDER_PATCH)

    async def _track(self) -> None:
        """Until the agenda has closed and every item has a final outcome: close the agenda at the next meeting,
        page an overdue item's owner at its due date, then the owner's manager `escalate_after` later."""
        if self._legacy:
            return await self._track_legacy()
        self._ladder.arm(Deadline(key=AGENDA, due_at=self._start.closes_at))
        await self._ladder.run(done=lambda: self._agenda.status == AgendaStatus.closed and all(i.is_final for i in self._agenda.action_items))

    async def _deadline_passed(self, deadline: Deadline) -> None:
        if deadline.key == AGENDA:
            self._agenda.status = AgendaStatus.closed
        else:
            item = self._item(deadline.key)
            item.overdue_paged = True
            await self._page(item, [item.owner_id], "overdue", f"Action item overdue ({self._start.ritual.name}): {item.title}")
        await self._save()

    async def _escalate(self, deadline: Deadline, step: EscalationStep, managers: list[str]) -> None:
        item = self._item(deadline.key)
        item.escalated_at, item.escalated_to = deadline.fired_at, managers
        await self._page(item, managers, "escalation",
                         f"{item.owner_id}'s action item from {self._start.ritual.name} is overdue: {item.title}")
        await self._save()

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

    async def _save(self) -> None:
        """Wake the timer loop and write the read model (agenda status and action items)."""
        self._changes += 1
        self._revision += 1
        if self._legacy:
            await self._save_legacy()
        else:
            await workflow.execute_activity_method(
                RitualActivities.save_ritual_state, Revision(revision=self._revision, state=self.state()), **DB_ACTIVITY
            )
