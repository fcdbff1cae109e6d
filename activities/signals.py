"""The signals and tasks read models, kept by SignalWorkflow (lists, filters and `GET /tasks?owner_id=&open=true`
read them; the workflow stays the truth)."""

import itertools

from sqlalchemy import insert
from sqlmodel import Session, delete
from temporalio import activity

from activities import Sessions
from activities.notifications import count_pages, write_notifications
from activities.read_models import claim, current_writer, writes_for_newest_run
from activities.timelines import append_timeline, read_timeline
from core.db import once_more_on_insert_race
from models.common import Revision
from models.notifications import WebhookDelivery
from models.response import response_marks
from models.signals import UNACKNOWLEDGED, SignalChange, SignalDetail, SignalHead, SignalPage, SignalPageChange
from models.tables import SignalEscalationRow, SignalOwnerRow, SignalRow, SignalToAcknowledgeRow, TaskRow
from models.tables.types import utcnow
from models.tasks import SignalTasks, Task
from workflows import activity_types


def signal_columns(revision: int, signal: SignalDetail) -> dict:
    """The row's columns for this revision of the signal (the activity and the book seeder write the same)."""
    return {**head_columns(signal), **response_marks(signal.owners, signal.timeline), "task_count": len(signal.tasks),
            "updated_at": utcnow(), "state": {"revision": revision, **signal.model_dump(mode="json")}}


class SignalActivities(activity_types.SignalActivities):
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn
    @once_more_on_insert_race
    def save_signal_state(self, request: Revision[SignalDetail]) -> None:
        """Upsert the row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
        with self.sessions() as session:
            write_signal(session, request.revision, request.state)

    @activity.defn
    @once_more_on_insert_race
    def page_and_save_signal(self, request: SignalPage) -> list[WebhookDelivery]:
        """A signal's page and the revision that records it, in one transaction: one activity where two were."""
        with self.sessions() as session:
            deliveries, written = write_notifications(session, request.notify, run_id=activity.info().workflow_run_id,
                                                      severity=request.signal.severity)
            write_signal(session, request.revision, request.signal)
        count_pages(request.notify, written)
        return deliveries

    @activity.defn
    def save_signal_tasks(self, request: Revision[SignalTasks]) -> None:
        """Upsert each task's row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
        with self.sessions() as session:
            write_tasks(session, request.revision, request.state)

    @activity.defn
    @once_more_on_insert_race
    def save_signal_change(self, change: SignalChange) -> None:
        """Apply one change of the signal: its size does not grow with the signal's timeline or tasks."""
        with self.sessions() as session:
            write_signal_change(session, change, activity.info().workflow_id)

    @activity.defn
    @once_more_on_insert_race
    def page_and_save_signal_change(self, request: SignalPageChange) -> list[WebhookDelivery]:
        """A signal's page and the change that records it, in one transaction."""
        with self.sessions() as session:
            deliveries, written = write_notifications(session, request.notify, run_id=activity.info().workflow_run_id,
                                                      severity=request.change.signal.severity)
            write_signal_change(session, request.change, activity.info().workflow_id)
        count_pages(request.notify, written)
        return deliveries


def write_tasks(session: Session, revision: int, tasks: SignalTasks) -> None:
    for task in tasks.tasks:
        write_task(session, revision, tasks.account_id, task)


def write_task(session: Session, revision: int, account_id: str, task: Task) -> bool:
    """Upsert the task's row; False when the write must change nothing (read_models.claim says why)."""
    row = session.get(TaskRow, task.id, with_for_update=True)
    if (allowed := claim(session, row, revision)) is None:
        return False
    if row is None:
        row = TaskRow(id=task.id, signal_id=task.signal_id, account_id=account_id, owner_id=task.owner_id,
                      due_at=task.due_at, updated_at=utcnow(), state={})
    row.owner_id = task.owner_id
    row.outcome = task.outcome.value if task.outcome else None
    row.is_open = not task.is_final
    row.due_at = task.due_at
    row.revision, row.run_id = allowed.revision, allowed.run_id
    row.updated_at = utcnow()
    row.state = task.model_dump(mode="json")
    session.add(row)
    return True


def write_signal_change(session: Session, change: SignalChange, workflow_id: str) -> None:
    """The timeline entries and the task are keyed on their own, so they land whatever the order saves arrive in;
    the row's columns follow the revision rule. The row's `state` stays the whole signal (tasks, evidence, timeline
    rebuilt from its table), so every reader of the read model sees the same shape as the workflow's query.
    A run superseded by a reset writes nothing."""
    if not writes_for_newest_run(session):
        return
    head = change.signal
    row = session.get(SignalRow, head.id, with_for_update=True)
    allowed = claim(session, row, change.revision)
    if row is None:
        row = SignalRow(id=head.id, workflow_id=workflow_id, state={})
    append_timeline(session, head.id, change.timeline_from, change.timeline)
    state = dict(row.state)
    tasks = state.get("tasks", [])
    if change.task is not None and write_task(session, change.task_revision, head.account_id, change.task):
        task = change.task.model_dump(mode="json")
        tasks = [task if t["id"] == task["id"] else t for t in tasks] + ([task] if task["id"] not in {t["id"] for t in tasks} else [])
    if change.evidence is not None:
        state["evidence"] = change.evidence
    if allowed is not None:
        state.update(revision=allowed.revision, **head.model_dump(mode="json"))
        for column, value in head_columns(head).items():
            setattr(row, column, value)
        row.run_id = allowed.run_id
    row.task_count = len(tasks)
    row.updated_at = utcnow()
    timeline = read_timeline(session, head.id)
    row.state = {**state, "tasks": tasks, "evidence": state.get("evidence", {}),
                 "timeline": [e.model_dump(mode="json") for e in timeline]}
    for column, value in response_marks(state.get("owners", head.owners), timeline).items():
        setattr(row, column, value)
    session.add(row)
    session.flush()
    if allowed is not None:
        refresh_people(session, head)


def head_columns(signal: SignalHead) -> dict:
    """The row's columns a signal's own fields set (not its tasks)."""
    return {
        "family": signal.family, "severity": signal.severity.value, "account_id": signal.account_id,
        "status": signal.status.value, "owner_ids": signal.owners, "escalated_to": signal.escalated_to,
        "acknowledged_by": signal.acknowledged_by, "escalation_level": signal.escalation_level,
        "sla_due_at": signal.sla_due_at, "routing_version": signal.routing_version, "created_at": signal.created_at,
    }


def write_signal(session: Session, revision: int, signal: SignalDetail) -> None:
    row = session.get(SignalRow, signal.id, with_for_update=True)
    if (allowed := claim(session, row, revision)) is None:
        return
    if row is None:
        row = SignalRow(id=signal.id, workflow_id=current_writer().workflow_id, state={})
    for column, value in signal_columns(allowed.revision, signal).items():
        setattr(row, column, value)
    row.run_id = allowed.run_id
    session.add(row)
    session.flush()
    refresh_people(session, signal)


def refresh_people(session: Session, signal: SignalHead) -> None:
    for table in (SignalOwnerRow, SignalEscalationRow, SignalToAcknowledgeRow):
        session.exec(delete(table).where(table.signal_id == signal.id))
    for table, rows in itertools.groupby(signal_people(signal), key=type):
        session.execute(insert(table), [row.model_dump() for row in rows])


def signal_people(signal: SignalHead) -> list[SignalOwnerRow | SignalEscalationRow | SignalToAcknowledgeRow]:
    """Who owns the signal now, whom it has escalated to (an acknowledgement or reassignment changes both) and, while
    nobody has acknowledged it, everyone of them it waits on."""
    waiting_on = dict.fromkeys(signal.owners + signal.escalated_to) if signal.status in UNACKNOWLEDGED else {}
    return ([SignalOwnerRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.owners)]
            + [SignalEscalationRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.escalated_to)]
            + [SignalToAcknowledgeRow(signal_id=signal.id, user_id=u, sla_due_at=signal.sla_due_at,
                                      created_at=signal.created_at) for u in waiting_on])
