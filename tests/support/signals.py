"""Signals opened on a Temporal server (time-skipping or dev), what they paged, and when their workflow is idle."""

from sqlmodel import Session, select

from core.db import get_engine
from models.signals import SignalIn
from models.tables import NotificationRow
from services.signals import open_signal, signal_handle


def inbox(user_id: str) -> list[NotificationRow]:
    """Every notification `user_id` has had."""
    with Session(get_engine()) as session:
        return list(session.exec(select(NotificationRow).where(NotificationRow.user_id == user_id)))


async def open_renewal_risk(client):
    with Session(get_engine()) as session:
        created, _ = await open_signal(
            session, client, SignalIn(family="renewal_risk", severity="critical", account_id="acme"), created_by="test"
        )
    return created, signal_handle(client, created.id)


async def open_signal_for(client, family="adoption_decay", severity="warning", account_id="globex"):
    with Session(get_engine()) as session:
        created, _ = await open_signal(session, client, SignalIn(family=family, severity=severity, account_id=account_id), "test")
    return created, signal_handle(client, created.id)


async def signal_idle(handle) -> bool:
    """True once the workflow waits on its SLA timer with nothing else in flight."""
    description = (await handle.describe()).raw_description
    timer_started = any(e.HasField("timer_started_event_attributes") for e in (await handle.fetch_history()).events)
    return timer_started and not description.pending_activities and not description.HasField("pending_workflow_task")
