"""The signals read model, kept by SignalWorkflow (lists and filters read it; the workflow stays the truth)."""

from sqlmodel import delete
from temporalio import activity

from core.db import once_more_on_insert_race, session_scope
from models.signals import SignalDetail
from models.tables import SignalOwnerRow, SignalRow
from models.tables.types import utcnow


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
        row.family = signal.family
        row.severity = signal.severity.value
        row.account_id = signal.account_id
        row.status = signal.status.value
        row.owner_ids = signal.owners
        row.escalated_to = signal.escalated_to
        row.acknowledged_by = signal.acknowledged_by
        row.escalation_level = signal.escalation_level
        row.sla_due_at = signal.sla_due_at
        row.routing_version = signal.routing_version
        row.created_at = signal.created_at
        row.updated_at = utcnow()
        row.state = {"revision": revision, **signal.model_dump(mode="json")}
        session.add(row)
        session.flush()
        session.exec(delete(SignalOwnerRow).where(SignalOwnerRow.signal_id == signal.id))
        for user_id in signal.owners:
            session.add(SignalOwnerRow(signal_id=signal.id, user_id=user_id))
