"""Tasks (seam 02): the template library, the candidates an acknowledgement offers, creating a task (and the
play its template starts), setting an outcome, and the tasks read model."""

from datetime import UTC, datetime

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core import config_store
from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.temporal import run_update
from models.common import Actor
from models.plays import PlayDef, PlayStart
from models.signals import SignalDetail
from models.tables import Account, TaskRow, User
from models.tasks import AddTaskInput, OutcomeIn, Task, TaskCandidate, TaskIn, TaskOutcomeInput
from models.templates import TaskTemplates, TaskTemplatesIn, due_after
from plays import load_library
from services.visibility import Viewer, only_visible
from services.plays import build_play_start, find_play, launch, new_run_id
from services.signals import get_signal, signal_handle
from workflows.signal import SignalWorkflow

TASK_TEMPLATES = "task_templates"


def _t(key, family, title, segments=(), play_key=None):
    return {"key": key, "family": family, "title": title, "segments": list(segments), "play_key": play_key}


DEFAULT_TASK_TEMPLATES = {
    "escalate_after": "P1D",
    "templates": [
        _t("renewal_save_play", "renewal_risk", "Run the Renewal Save play", play_key="renewal_save"),
        _t("renewal_exec_call", "renewal_risk", "Executive call with the economic buyer", ["enterprise"]),
        _t("renewal_health_review", "renewal_risk", "Review account health with the champion"),
        _t("renewal_offer", "renewal_risk", "Prepare a renewal offer with multi-year terms", ["mid_market", "smb"]),
        _t("champion_new_contact", "champion_departed", "Identify and meet the new champion"),
        _t("champion_exec_sponsor", "champion_departed", "Secure an executive sponsor", ["enterprise"]),
        _t("champion_rescue_play", "champion_departed", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("adoption_enablement", "adoption_decay", "Book an enablement session for inactive users"),
        _t("adoption_assessment_prep", "adoption_decay", "Plan usage around the next assessment window", ["mid_market"]),
        _t("adoption_success_plan", "adoption_decay", "Refresh the success plan with the admin"),
        _t("expansion_play", "expansion_trigger", "Run the Expansion play", play_key="expansion"),
        _t("expansion_discovery", "expansion_trigger", "Discovery call on the new use cases"),
        _t("expansion_pricing", "expansion_trigger", "Prepare an expansion quote"),
        _t("nps_follow_up", "nps_decline", "Call the detractor back within the week"),
        _t("nps_root_cause", "nps_decline", "Find the root cause with support and product"),
        _t("nps_exec_note", "nps_decline", "Executive note to the account's sponsor", ["enterprise"]),
        _t("governance_review", "handoff_governance_violation", "Review the overridden handoff with both teams"),
        _t("governance_fill_context", "handoff_governance_violation", "Fill the missing handoff context"),
        _t("governance_coaching", "handoff_governance_violation", "Coach the sender on the handoff spec"),
        _t("cross_sell_play", "cross_sell_watermark", "Run the Cross-Sell play", play_key="cross_sell"),
        _t("cross_sell_intro", "cross_sell_watermark", "Introduce the motion-B team"),
        _t("cross_sell_displacement", "cross_sell_watermark", "Run the Competitor Displacement play",
           play_key="competitor_displacement"),
        _t("stalled_deal_rescue", "stalled_deal", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("stalled_deal_next_step", "stalled_deal", "Agree a dated next step with the buyer"),
        _t("stalled_deal_review", "stalled_deal", "Review the deal with the manager"),
        _t("close_date_rescue", "close_date_drift", "Run the Deal Rescue play", play_key="deal_rescue"),
        _t("close_date_recommit", "close_date_drift", "Re-confirm the close plan with the champion"),
        _t("close_date_forecast", "close_date_drift", "Update the forecast category and close date"),
    ],
}


def load_default_templates(session: Session) -> None:
    """Write version 1 of the template library if there is none (never overwrites an edited one)."""
    config_store.seed(session, TASK_TEMPLATES, TaskTemplatesIn.model_validate(DEFAULT_TASK_TEMPLATES).model_dump(mode="json"))


def current_templates(session: Session) -> TaskTemplates:
    row = config_store.latest(session, TASK_TEMPLATES)
    if row is None:
        raise PillarError("invalid", "no task-template library is configured: PUT /api/v1/config/task-templates first")
    return TaskTemplates.model_validate({**row.body, "version": row.version, "created_at": row.created_at})


def candidates_for(session: Session, signal: SignalDetail, now: datetime | None = None,
                   library: TaskTemplates | None = None) -> list[TaskCandidate]:
    """The best three templates for the signal's family and its account's segment, each with its due date
    (`library`: the template library in force, when the caller has read it already)."""
    account = session.get(Account, signal.account_id)
    now = now or datetime.now(UTC)
    templates = (library or current_templates(session)).candidates(signal.family, account.segment if account else None)
    plays = load_library() if any(t.play_key for t in templates) else {}

    def due_at(play_key: str | None) -> datetime:
        play = plays.get(play_key) if play_key else None
        return now + (play.planned_duration() if play else due_after(signal.severity))

    return [TaskCandidate(template_key=t.key, title=t.title, due_at=due_at(t.play_key), play_key=t.play_key) for t in templates]


async def add_task(
    session: Session | AsyncSession, client: Client, signal_id: str, body: TaskIn, actor: Actor,
    library: dict[str, PlayDef] | None = None,
) -> Task:
    """Create the task inside the signal's workflow; a template with a play also starts the play, linked to it.
    Everything that can refuse is checked before anything starts."""
    signal = await get_signal(session, client, signal_id)
    request, play_start = await in_session(session, task_request, signal, body, actor, library)
    task = await run_update(signal_handle(client, signal_id), SignalWorkflow.add_task, request)
    if play_start:
        await launch(client, play_start.model_copy(update={"task_id": task.id}))
    return task


def task_request(session: Session, signal: SignalDetail, body: TaskIn, actor: Actor,
                 library: dict[str, PlayDef] | None) -> tuple[AddTaskInput, PlayStart | None]:
    """The task the template makes for this signal (and the play it starts), or a 422 saying what is wrong."""
    templates = current_templates(session)
    template = templates.template(body.template_key)
    if template is None or template.family != signal.family:
        keys = [t.key for t in templates.templates if t.family == signal.family]
        raise PillarError("invalid", f"no template {body.template_key!r} for {signal.family} signals; "
                          f"templates: {', '.join(keys)}", {"field": "template_key", "templates": keys})
    owner_id = body.owner_id or _default_owner(signal, actor)
    if session.get(User, owner_id) is None:
        raise PillarError("invalid", f"unknown user {owner_id!r}", {"field": "owner_id"})
    play_start, due_in = None, due_after(signal.severity)
    if template.play_key:
        play = find_play(template.play_key, library)
        play_start = build_play_start(session, play, signal.account_id, signal, actor.id, run_id=new_run_id())
        due_in = play.planned_duration()
    request = AddTaskInput(
        actor=actor,
        template_key=template.key,
        title=template.title,
        owner_id=owner_id,
        due_at=body.due_at or datetime.now(UTC) + due_in,
        escalate_after_seconds=int(templates.escalate_after.total_seconds()),
        play_run_id=play_start.id if play_start else None,
    )
    return request, play_start


def _default_owner(signal: SignalDetail, actor: Actor) -> str:
    if actor.id in signal.owners + signal.escalated_to:
        return actor.id
    return signal.acknowledged_by or signal.owners[0]


def signal_id_of(task_id: str) -> str:
    signal_id, sep, number = task_id.rpartition("-t")
    if not sep or not number.isdigit():
        raise PillarError("not_found", f"no task {task_id!r}")
    return signal_id


async def set_outcome(session: Session | AsyncSession, client: Client, task_id: str, body: OutcomeIn, actor: Actor) -> Task:
    request = TaskOutcomeInput(task_id=task_id, actor=actor, **body.model_dump())
    return await run_update(signal_handle(client, signal_id_of(task_id)), SignalWorkflow.set_task_outcome, request)


TASK_ORDER = (SortKey(TaskRow.due_at), SortKey(TaskRow.id))


def tasks_query(owner_id: str | None, open_only: bool | None, viewer: Viewer | None = None):
    query = only_visible(select(TaskRow), TaskRow, viewer)
    if owner_id is not None:
        query = query.where(TaskRow.owner_id == owner_id)
    if open_only is not None:
        query = query.where(TaskRow.is_open == open_only)
    return query


def list_tasks(session: Session, owner_id: str | None, open_only: bool | None, page: PageRequest = PageRequest(),
               viewer: Viewer | None = None) -> Page[Task]:
    """Soonest due first; with a viewer, on the accounts they may see."""
    return page_of(session, tasks_query(owner_id, open_only, viewer), page, "tasks", TASK_ORDER,
                   lambda row: Task.model_validate(row.state))
