"""HandoffWorkflow's side effects: the audit trail and read model, the account team change, the governance signal."""

from collections.abc import Callable

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities import Sessions
from activities.notifications import write_notifications
from activities.read_models import claim, current_writer
from core.errors import PillarError
from models.handoffs import (GOVERNANCE_FAMILY, GOVERNANCE_SEVERITY, GovernanceViolation, Handoff, HandoffTransition,
                             TeamChangeRequest)
from models.notifications import NotifyRequest
from models.signals import SignalIn
from models.tables import Account, HandoffAuditRow, HandoffRow
from models.tables.types import utcnow
from services.signals import open_signal
from workflows import activity_types


class HandoffActivities(activity_types.HandoffActivities):
    def __init__(self, sessions: Sessions, async_sessions: Callable[[], AsyncSession], client: Client) -> None:
        self.sessions = sessions
        self.async_sessions = async_sessions  # for async activities: they run on the worker's event loop
        self.client = client

    @activity.defn
    def record_handoff_transition(self, transition: HandoffTransition) -> None:
        """Append audit row `seq` of this run and move the read model to that revision, in one transaction.
        A retry finds the row already there and writes nothing twice; a reset run records its own transitions."""
        handoff, entry = transition.handoff, transition.entry
        run_id = (writer := current_writer()) and writer.run_id
        with self.sessions() as session:
            exists = session.exec(select(HandoffAuditRow.id).where(
                HandoffAuditRow.handoff_id == handoff.id, HandoffAuditRow.run_id == run_id, HandoffAuditRow.seq == transition.seq
            )).first()
            if exists is None:
                session.add(HandoffAuditRow(handoff_id=handoff.id, run_id=run_id, seq=transition.seq, **entry.model_dump()))
            write_handoff(session, transition.seq, handoff)

    @activity.defn
    def apply_handoff_team_change(self, request: TeamChangeRequest) -> None:
        """The receiver takes the role on the account team (setting it twice is harmless)."""
        with self.sessions() as session:
            account = session.get(Account, request.account_id, with_for_update=True)
            if account is None:
                raise ApplicationError(f"account {request.account_id!r} no longer exists", non_retryable=True)
            displaced = account.team.get(request.role.value)
            if displaced == request.user_id:
                return
            account.team = {**account.team, request.role.value: request.user_id}
            account.updated_at = utcnow()
            session.add(account)
            if displaced:  # in the same transaction as the change: a retry finds the team set and pages nobody twice
                write_notifications(session, displaced_page(account, request, displaced))

    @activity.defn
    async def open_governance_violation(self, violation: GovernanceViolation) -> str:
        """Open the handoff_governance_violation signal; its dedup key makes a retry find the same signal. An async
        session: the database is awaited, never waited on, on the worker's event loop."""
        request = SignalIn(
            family=GOVERNANCE_FAMILY,
            severity=GOVERNANCE_SEVERITY,
            account_id=violation.account_id,
            dedup_key=f"handoff-override-{violation.handoff_id}",
            evidence=violation.model_dump(mode="json"),
        )
        async with self.async_sessions() as session:
            try:
                created, _ = await open_signal(session, self.client, request, created_by=violation.actor_id)
            except PillarError as error:
                raise ApplicationError(error.message, type=error.code, non_retryable=True) from error
        return created.id



def write_handoff(session: Session, revision: int, handoff: Handoff) -> None:
    row = session.get(HandoffRow, handoff.id, with_for_update=True)
    if (allowed := claim(session, row, revision)) is None:
        return
    if row is None:
        row = HandoffRow(id=handoff.id, workflow_id=handoff.workflow_id, created_at=handoff.created_at, state={})
    row.kind = handoff.kind
    row.account_id = handoff.account_id
    row.status = handoff.status.value
    row.from_user_id = handoff.from_user_id
    row.to_user_id = handoff.to_user_id
    row.revision, row.run_id = allowed.revision, allowed.run_id
    row.updated_at = utcnow()
    row.state = handoff.model_dump(mode="json")
    session.add(row)


def displaced_page(account: Account, request: TeamChangeRequest, displaced: str) -> NotifyRequest:
    """The page to whoever a handoff's team change takes the role from (issue 15: no seat changes silently)."""
    return NotifyRequest(
        key=f"team-change:{account.id}:{request.role.value}:{request.user_id}", user_ids=[displaced],
        kind="team_change", subject_type="account", subject_id=account.id, at=utcnow(),
        text=f"You are no longer the {request.role.value} of {account.name}: {request.user_id} took the seat through a handoff.",
    )
