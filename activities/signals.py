"""The signals read model, kept by SignalWorkflow (lists and filters read it; the workflow stays the truth)."""

from sqlmodel import delete
from temporalio import activity

from core.db import once_more_on_insert_race, session_scope
from models.signals import SignalDetail
from models.tables import SignalEscalationRow, SignalOwnerRow, SignalRow
from models.tables.types import utcnow


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


@activity.defn
@once_more_on_insert_race
def save_signal(revision: int, signal: SignalDetail) -> None:
    """Upsert the row; a stale or repeated revision (a retry, a reordered write) changes nothing."""
    with session_scope() as session:
        row = session.get(SignalRow, signal.id, with_for_update=True)
        if row is not None and row.state.get("revision", 0) >= revision:
            return
        if row is None:
            row = SignalRow(id=signal.id, workflow_id=activity.info().workflow_id, state={})
        for column, value in signal_columns(revision, signal).items():
            setattr(row, column, value)
        session.add(row)
        session.flush()
        for table in (SignalOwnerRow, SignalEscalationRow):
            session.exec(delete(table).where(table.signal_id == signal.id))
        session.add_all(signal_people(signal))


def signal_people(signal: SignalDetail) -> list[SignalOwnerRow | SignalEscalationRow]:
    """Who owns the signal now and whom it has escalated to (an acknowledgement or reassignment changes both)."""
    return ([SignalOwnerRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.owners)]
            + [SignalEscalationRow(signal_id=signal.id, user_id=u) for u in dict.fromkeys(signal.escalated_to)])
