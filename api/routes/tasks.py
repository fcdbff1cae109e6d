from fastapi import APIRouter, Query

from api.deps import AsyncSessionDep, ConfigEditor, ConfigVersion, CurrentUser, PathId, QueryText, SessionDep, TemporalDep
from api.errors import ERROR_RESPONSES
from api.paging import PAGED, PAGING_NOTE, PagingDep
from models.routing import ConfigVersionRef
from models.tasks import OutcomeIn, Task
from models.templates import TaskTemplates, TaskTemplatesIn
from api.visibility import sees
from services.config_views import ConfigKind, config_view, write_config
from services.task_templates import current_templates
from services.tasks import list_tasks, set_outcome
from services.users import mark_unowned_tasks

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("/api/v1/tasks", response_model=list[Task], responses=PAGED, description=(
    "Tasks from the read model the signal workflows keep, soonest due first. `open=true`: no final outcome yet."
    + PAGING_NOTE))
def get_tasks(
    session: SessionDep,
    user: CurrentUser,
    paging: PagingDep,
    owner_id: QueryText = None,
    open_: bool | None = Query(default=None, alias="open"),
) -> list[Task]:
    page = list_tasks(session, owner_id, open_, paging.page, viewer=user)
    page.items = mark_unowned_tasks(session, page.items)  # a disabled owner's open tasks need a new owner
    return paging.send(page)


@router.post("/api/v1/tasks/{task_id}/outcome", response_model=Task, dependencies=[sees("task", "task_id")])
async def post_outcome(task_id: PathId, body: OutcomeIn, session: AsyncSessionDep, client: TemporalDep, user: CurrentUser) -> Task:
    """The task's owner or their manager records its outcome: renewed, churned, expanded, lost, reassigned, or
    blocked_waiting_on (with blocked_on). There is no `done`. The signal resolves when every task has a final one."""
    return await set_outcome(session, client, task_id, body, await user.actor(session))


@router.get("/api/v1/config/task-templates", response_model=TaskTemplates, tags=["config"])
def get_task_templates(session: SessionDep, _: CurrentUser) -> TaskTemplates:
    """The task-template library in force, by signal family and account segment."""
    return current_templates(session)


@router.put("/api/v1/config/task-templates", response_model=ConfigVersionRef, tags=["config"])
def put_task_templates(body: TaskTemplatesIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version of the template library; tasks already created keep their title and dates."""
    return write_config(session, ConfigKind.task_templates, body, editor.id)


@router.get("/api/v1/config/task-templates/{version}", response_model=TaskTemplates, tags=["config"])
def get_task_templates_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> TaskTemplates:
    return config_view(session, ConfigKind.task_templates, version)
