"""The tasks read model, kept by SignalWorkflow (`GET /tasks?owner_id=&open=true` reads it; the workflow stays the truth)."""

from temporalio import activity

from core.db import session_scope
from models.tables import TaskRow
from models.tables.types import utcnow
from models.tasks import Task


@activity.defn
def save_tasks(revision: int, account_id: str, tasks: list[Task]) -> None:
    """Upsert each task's row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
    with session_scope() as session:
        for task in tasks:
            row = session.get(TaskRow, task.id, with_for_update=True)
            if row is not None and row.revision >= revision:
                continue
            if row is None:
                row = TaskRow(id=task.id, signal_id=task.signal_id, account_id=account_id, owner_id=task.owner_id,
                              due_at=task.due_at, updated_at=utcnow(), state={})
            row.owner_id = task.owner_id
            row.outcome = task.outcome.value if task.outcome else None
            row.is_open = not task.is_final
            row.due_at = task.due_at
            row.revision = revision
            row.updated_at = utcnow()
            row.state = task.model_dump(mode="json")
            session.add(row)
