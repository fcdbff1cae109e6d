"""The signals and tasks read models, kept by SignalWorkflow (lists, filters and `GET /tasks?owner_id=&open=true`
read them; the workflow stays the truth)."""

import itertools

from sqlalchemy import insert
from sqlmodel import Session, delete
from temporalio import activity

from activities import Sessions
from activities.notifications import count_pages, write_notifications
from activities.read_models import claim, current_writer
from core.db import once_more_on_insert_race
from models.common import Revision
from models.notifications import WebhookDelivery
from models.signals import UNACKNOWLEDGED, SignalDetail, SignalPage
from models.tables import SignalEscalationRow, SignalOwnerRow, SignalRow, SignalToAcknowledgeRow, TaskRow
from models.tables.types import utcnow
from models.tasks import SignalTasks
from workflows import activity_types


def signal_columns(revision: int, signal: SignalDetail) -> dict:
    """The row's columns for this revision of the signal (the activity and the book seeder write the same)."""
    return {
        "family": signal.family, "severity": signal.severity.value, "account_id": signal.account_id,
        "status": signal.status.value, "owner_ids": signal.owners, "escalated_to": signal.escalated_to,
        "acknowledged_by": signal.acknowledged_by, "escalation_level": signal.escalation_level,
        "task_count": len(signal.tasks),
        "sla_due_at": signal.sla_due_at, "routing_version": signal.routing_version, "created_at": signal.created_at,
        "updated_at": utcnow(), "state": {"revision": revision, **signal.model_dump(mode="json")},
    }


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
            deliveries, written = write_notifications(session, request.notify, run_id=activity.info().workflow_run_id)
            write_signal(session, request.revision, request.signal)
        count_pages(request.notify, written)
        return deliveries

    @activity.defn
    def save_signal_tasks(self, request: Revision[SignalTasks]) -> None:
        """Upsert each task's row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
        with self.sessions() as session:
            write_tasks(session, request.revision, request.state)


def write_tasks(session: Session, revision: int, tasks: SignalTasks) -> None:
    for task in tasks.tasks:
        row = session.get(TaskRow, task.id, with_for_update=True)
        if (allowed := claim(session, row, revision)) is None:
            continue
        if row is None:
            row = TaskRow(id=task.id, signal_id=task.signal_id, account_id=tasks.account_id, owner_id=task.owner_id,
                          due_at=task.due_at, updated_at=utcnow(), state={})
        row.owner_id = task.owner_id
        row.outcome = task.outcome.value if task.outcome else None
        row.is_open = not task.is_final
        row.due_at = task.due_at
        row.revision, row.run_id = allowed.revision, allowed.run_id
        row.updated_at = utcnow()
        row.state = task.model_dump(mode="json")
        session.add(row)


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
    for table in (SignalOwnerRow, SignalEscalationRow, SignalToAcknowledgeRow):
        session.exec(delete(table).where(table.signal_id == signal.id))
    for table, rows in itertools.groupby(signal_people(signal), key=type):
        session.execute(insert(table), [row.model_dump() for row in rows])


def signal_people(signal: SignalDetail) -> list[SignalOwnerRow | SignalEscalationRow | SignalToAcknowledgeRow]:
    """Who owns the signal now, whom it has escalated to (an acknowledgement or reassignment changes both) and, while
    nobody has acknowledged it, everyone of them it waits on."""
    waiting_on = dict.fromkeys(signal.owners + signal.escalated_to) if signal.status in UNACKNOWLEDGED else {}
    return ([SignalOwnerRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.owners)]
            + [SignalEscalationRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.escalated_to)]
            + [SignalToAcknowledgeRow(signal_id=signal.id, user_id=u, sla_due_at=signal.sla_due_at,
                                      created_at=signal.created_at) for u in waiting_on])
