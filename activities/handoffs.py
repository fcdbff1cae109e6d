"""HandoffWorkflow's side effects: the audit trail and read model, the account team change, the governance signal."""

from collections.abc import Callable

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities import Sessions
from activities.notifications import write_notifications
from activities.read_models import Claim, claim, current_run_id, writes_for_newest_run
from core.db import once_more_on_insert_race
from core.errors import PillarError
from models.handoffs import (GOVERNANCE_FAMILY, GOVERNANCE_SEVERITY, AuditEntry, GovernanceViolation, Handoff, HandoffChange,
                             HandoffTransition, TeamChangeRequest)
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
    @once_more_on_insert_race
    def record_handoff_transition(self, transition: HandoffTransition) -> None:
        """Append audit row `seq` of this run and move the read model to that revision, in one transaction.
        A retry finds the row already there and writes nothing twice; a reset run records its own transitions."""
        with self.sessions() as session:
            row = audit_and_lock(session, transition.seq, transition.handoff, transition.entry)
            if (allowed := claim(session, row, transition.seq)) is not None:
                write_handoff_row(session, row, allowed, transition.handoff.model_dump(mode="json"))

    @activity.defn
    @once_more_on_insert_race
    def record_handoff_change(self, change: HandoffChange) -> None:
        """Append audit row `seq` and apply the change, in one transaction. Each field keeps the seq that set it, so
        a reordered save never puts an older value over a newer one; a retry writes nothing twice. A reset run's
        seqs start again from the reset point: once it takes the row over, its own seqs are the ones that count."""
        with self.sessions() as session:
            row = audit_and_lock(session, change.seq, change.handoff, change.entry)
            if not writes_for_newest_run(session):
                return
            allowed = claim(session, row, change.seq)
            stored = row.state if row is not None else {}
            taken_over = allowed is not None and row is not None and row.run_id != allowed.run_id
            fields = dict(stored.get("fields", {}))
            field_seqs = {} if taken_over else dict(stored.get(FIELD_SEQS, {}))
            for name, value in change.fields.items():
                if field_seqs.get(name, 0) < change.seq:
                    fields[name], field_seqs[name] = value, change.seq
            if allowed is None:  # stale: only its fields land
                row.state = {**stored, "fields": fields, FIELD_SEQS: field_seqs}
                session.add(row)
                return
            state = {**change.handoff.model_dump(mode="json"), "fields": fields, FIELD_SEQS: field_seqs}
            write_handoff_row(session, row, allowed, state)

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
                write_notifications(session, displaced_page(account, request, displaced), sends=False)

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



FIELD_SEQS = "field_seqs"  # in a handoff row's state: the audit seq that last set each field (Handoff ignores it)


def audit_and_lock(session: Session, seq: int, handoff: Handoff, entry: AuditEntry) -> HandoffRow | None:
    """Append audit row `seq` of this run unless a retry wrote it already (a reset run records its own transitions);
    the handoff's row, locked, or None while there is none."""
    run_id = current_run_id()
    exists = session.exec(select(HandoffAuditRow.id).where(
        HandoffAuditRow.handoff_id == handoff.id, HandoffAuditRow.run_id == run_id, HandoffAuditRow.seq == seq
    )).first()
    if exists is None:
        session.add(HandoffAuditRow(handoff_id=handoff.id, run_id=run_id, seq=seq, **entry.model_dump()))
    return session.get(HandoffRow, handoff.id, with_for_update=True)


def write_handoff(session: Session, revision: int, handoff: Handoff) -> None:
    row = session.get(HandoffRow, handoff.id, with_for_update=True)
    if (allowed := claim(session, row, revision)) is not None:
        write_handoff_row(session, row, allowed, handoff.model_dump(mode="json"))


def write_handoff_row(session: Session, row: HandoffRow | None, allowed: Claim, state: dict) -> None:
    handoff = Handoff.model_validate(state)
    if row is None:
        row = HandoffRow(id=handoff.id, workflow_id=handoff.workflow_id, created_at=handoff.created_at, state={})
    row.kind = handoff.kind
    row.account_id = handoff.account_id
    row.status = handoff.status.value
    row.from_user_id = handoff.from_user_id
    row.to_user_id = handoff.to_user_id
    row.revision, row.run_id = allowed.revision, allowed.run_id
    row.updated_at = utcnow()
    row.state = state
    session.add(row)


def displaced_page(account: Account, request: TeamChangeRequest, displaced: str) -> NotifyRequest:
    """The page to whoever a handoff's team change takes the role from (issue 15: no seat changes silently)."""
    return NotifyRequest(
        key=f"team-change:{account.id}:{request.role.value}:{request.user_id}", user_ids=[displaced],
        kind="team_change", subject_type="account", subject_id=account.id, at=utcnow(),
        text=f"You are no longer the {request.role.value} of {account.name}: {request.user_id} took the seat through a handoff.",
    )
