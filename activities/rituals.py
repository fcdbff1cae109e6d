"""RitualWorkflow's side effects: resolving the ritual's config, building and storing the agenda, posting it to
the ritual's webhook, and the agenda and action-items read model."""

import asyncio
import json
from collections.abc import Callable

import httpx
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities import Sessions
from activities.read_models import Claim, claim, current_run_id, writes_for_newest_run
from core.db import in_session
from core.outbound import destination_secret, post_signed
from core.settings import Settings
from models.common import Revision
from models.rituals import (
    ActionItem,
    AgendaPost,
    AgendaRef,
    BuildAgendaRequest,
    Carry,
    PreparedRitual,
    RitualRun,
    RitualState,
    TakenOver,
    decidable_refs,
    TakeOver,
)
from models.tables import ActionItemRow, AgendaRow
from services import agendas
from services.rituals import start_for
from workflows import activity_types


class RitualActivities(activity_types.RitualActivities):
    def __init__(self, sessions: Sessions, async_sessions: Callable[[], AsyncSession], http: httpx.AsyncClient,
                 settings: Callable[[], Settings], client: Client | None = None) -> None:
        self.sessions = sessions
        self.async_sessions = async_sessions  # for async activities: they run on the worker's event loop
        self.http = http
        self.settings = settings  # read at each call: the public URL and the webhook timeout are configuration
        self.client = client  # to ask an earlier run to hand its action items over

    @activity.defn
    def prepare_ritual_run(self, run: RitualRun) -> PreparedRitual:
        """The ritual as configured now, and the meeting this run (at its `scheduled_at`) builds the agenda for."""
        with self.sessions() as session:
            start = start_for(session, run.ritual_key, run.motion, run.scheduled_at, run.by_hand)
        if start is None:
            return PreparedRitual(reason=f"ritual {run.ritual_key!r} is no longer configured for motion {run.motion!r}, "
                                         "is disabled, or does not meet this week")
        return PreparedRitual(start=start)

    @activity.defn
    def build_agenda(self, request: BuildAgendaRequest) -> AgendaRef:
        """Build and store the agenda; a retry (or a second run for the same meeting) finds the one stored first."""
        with self.sessions() as session:
            ref = agendas.store(session, request)
            return ref.model_copy(update={"decidable": decidable_refs(agendas.get_agenda(session, ref.id))})

    @activity.defn
    async def post_agenda(self, post: AgendaPost) -> None:
        """POST the agenda as JSON (with a link to its printable page); a non-2xx answer raises, so Temporal retries."""
        async with self.async_sessions() as session:
            agenda = await in_session(session, agendas.get_agenda, post.agenda_id)
        settings = self.settings()
        body = {**agenda.model_dump(mode="json"), "html_url": f"{settings.public_url}/api/v1/agendas/{agenda.id}.html"}
        response = await post_signed(self.http, post.url, json.dumps(body).encode(),
                                     destination_secret(settings, f"ritual:{agenda.ritual_key}"),
                                     settings.webhook_timeout_seconds, {"Idempotency-Key": agenda.id})
        response.raise_for_status()

    @activity.defn
    def save_ritual_state(self, request: Revision[RitualState]) -> None:
        """The agenda's status and each action item's row; a stale or repeated revision changes nothing."""
        with self.sessions() as session:
            write_ritual(session, request.revision, request.state)

    @activity.defn
    async def take_over_action_items(self, request: TakeOver) -> TakenOver:
        """Hand the open items of the ritual's earlier meetings to `request`'s agenda, in one transaction (row locks
        on PostgreSQL; SQLite has one writer): an item released by its run, or held by a run that has closed
        without releasing it, is taken; a run still holding some is cancelled (it releases them as it ends) and
        named. A retry answers the items taken the first time."""
        taken, waiting = await asyncio.to_thread(self._take_over, request, set())
        gone = {workflow_id for workflow_id in waiting if not await self._running(workflow_id)}
        if gone:
            taken, waiting = await asyncio.to_thread(self._take_over, request, gone)
        for workflow_id in waiting:
            await self._cancel(workflow_id)
        return TakenOver(items=taken, waiting_for=waiting)

    def _take_over(self, request: TakeOver, gone: set[str]) -> tuple[list[ActionItem], list[str]]:
        """In a thread, on a session of its own: the row locks are held by a plain connection, off the event loop."""
        with self.sessions() as session:
            return _take_over(session, request, gone)

    async def _running(self, workflow_id: str) -> bool:
        try:
            return (await self.client.get_workflow_handle(workflow_id).describe()).status == WorkflowExecutionStatus.RUNNING
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise

    async def _cancel(self, workflow_id: str) -> None:
        try:
            await self.client.get_workflow_handle(workflow_id).cancel()
        except RPCError as error:  # closed meanwhile: the next ask finds it gone
            if error.status != RPCStatusCode.NOT_FOUND:
                raise


def write_ritual(session: Session, revision: int, state: RitualState) -> None:
    agenda = session.get(AgendaRow, state.agenda_id, with_for_update=True)
    if agenda is not None and (allowed := claim(session, agenda, revision)) is not None:
        agenda.status, agenda.revision, agenda.run_id = state.status.value, allowed.revision, allowed.run_id
        if state.decisions:
            agenda.decisions = [d.model_dump(mode="json") for d in state.decisions]
        session.add(agenda)
    for item in state.action_items:
        row = session.get(ActionItemRow, item.id, with_for_update=True)
        if (allowed := _item_claim(session, row, item, revision)) is None:
            continue
        if row is None:  # an item keeps the week of the meeting that decided it, wherever it is carried
            meeting_at = item.carries[0].from_meeting_at if item.carries else state.meeting_at
            row = ActionItemRow(id=item.id, agenda_id=item.agenda_id, ritual_key=item.ritual_key, motion=item.motion,
                                meeting_at=meeting_at, owner_id=item.owner_id, due_at=item.due_at, state={})
        _write(session, row, item, allowed)


def _item_claim(session: Session, row: ActionItemRow | None, item: ActionItem, revision: int) -> Claim | None:
    """An item's later hand-over always wins (the run that took it counts revisions afresh), an earlier one never
    does; within one holder, the rule of every read model (read_models.claim)."""
    stored = ActionItem.model_validate(row.state).handovers if row is not None else item.handovers
    if item.handovers < stored or not writes_for_newest_run(session):
        return None
    if item.handovers > stored:
        return Claim(current_run_id(), revision)
    return claim(session, row, revision)


def _write(session: Session, row: ActionItemRow, item: ActionItem, allowed: Claim) -> None:
    row.owner_id = item.owner_id
    row.is_open = not item.is_final
    row.outcome = item.outcome.value if item.outcome else None
    row.due_at = item.due_at
    row.outcome_at = item.outcome_at
    row.revision, row.run_id = allowed.revision, allowed.run_id
    row.state = item.model_dump(mode="json")
    session.add(row)


def _take_over(session: Session, request: TakeOver, gone: set[str]) -> tuple[list[ActionItem], list[str]]:
    rows = session.exec(select(ActionItemRow).where(
        ActionItemRow.ritual_key == request.ritual_key, ActionItemRow.motion == request.motion,
        ActionItemRow.meeting_at < request.meeting_at, ActionItemRow.is_open == True,  # noqa: E712
    ).order_by(ActionItemRow.id).with_for_update()).all()
    items = {row.id: ActionItem.model_validate(row.state) for row in rows}
    holders = {i.holder for i in items.values()} - {None, request.agenda_id}
    agendas = {a.id: a for a in session.exec(select(AgendaRow).where(AgendaRow.id.in_(holders)))} if holders else {}
    taken, waiting = [], []
    for row in rows:
        item = items[row.id]
        if item.holder is not None and item.holder != request.agenda_id:
            holder = agendas.get(item.holder)
            if holder is None or holder.meeting_at >= request.meeting_at:
                continue  # a later meeting's run holds it
            if holder.workflow_id is None:
                continue  # imported history: no run tracks it
            if holder.workflow_id not in gone:
                waiting.append(holder.workflow_id)
                continue
            # its run closed without releasing it (failed, terminated): released now, as it stood
            item.carries.append(Carry(from_agenda_id=holder.id, from_meeting_at=holder.meeting_at, released_at=request.at))
        if item.holder is None:
            item.carries[-1] = item.carries[-1].model_copy(update={"to_agenda_id": request.agenda_id, "taken_at": request.at})
            _write(session, row, item, Claim(current_run_id(), 0))  # the taking run counts its revisions from 1
        taken.append(item)
    return taken, sorted(set(waiting))
