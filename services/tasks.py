"""Tasks (seam 02): creating a task from a template (and the play it starts), setting an outcome, and the tasks
read model. The template library and the candidates are in services/task_templates.py."""

from datetime import UTC, datetime

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.temporal import run_update
from models.common import Actor
from models.plays import PlayDef, PlayStart
from models.signals import SignalDetail
from models.tables import TaskRow, User
from models.tasks import AddTaskInput, OutcomeIn, Task, TaskIn, TaskOutcomeInput
from services.plays import build_play_start, find_play, new_run_id
from services.signals import get_signal, signal_handle
from services.task_templates import current_templates
from services.visibility import Viewer, only_visible
from workflows.signal import SignalWorkflow


async def add_task(
    session: Session | AsyncSession, client: Client, signal_id: str, body: TaskIn, actor: Actor,
    library: dict[str, PlayDef] | None = None,
) -> Task:
    """Create the task inside the signal's workflow; a template with a play also starts the play, linked to it.
    Everything that can refuse is checked before anything starts."""
    signal = await get_signal(session, client, signal_id)
    request, play_start = await in_session(session, task_request, signal, body, actor, library)
    if play_start:  # the signal's workflow starts it once the task is recorded
        request.play_start = play_start.model_dump(mode="json")
    return await run_update(signal_handle(client, signal_id), SignalWorkflow.add_task, request)


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
    play_start, due_in = None, template.due_in(signal.severity)
    if template.play_key:
        play = find_play(template.play_key, library)
        play_start = build_play_start(session, play, signal.account_id, signal, actor.id, run_id=new_run_id())
        due_in = template.due_in(signal.severity, play.planned_duration())
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
