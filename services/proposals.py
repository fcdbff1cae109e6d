"""Agent proposals (issue 17): what an agent asked to do, on whose behalf and why; who approved or rejected it.

The act itself runs elsewhere (api/agent: the same service call a person's request makes, as the approver); this
module keeps the record and its rules: only a pending proposal is decided, once; the user an agent acts for never
decides its own proposal (unless their agent settings let a low-risk act through, which then never waits); a
proposal is seen by whoever may see its account, by the user it was made for and by their managers."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.proposals import LOW_RISK_ACTS, AgentSettings, Proposal, ProposalStatus
from models.tables import AgentSettingsRow, ProposalRow
from services.visibility import Viewer, book_wide, can_see, resolved, visible_clause

APPROVING = "approving"  # claimed by one approver while the act runs: a second approval cannot run it twice


def new_proposal_id() -> str:
    return "prop-" + uuid.uuid4().hex[:24]


def audit_line(row: ProposalRow) -> str:
    line = f"proposed by agent {row.agent} on behalf of {row.requested_by}"
    if row.status == ProposalStatus.applied:
        auto = " (auto-approved by their agent settings)" if row.decided_by == row.requested_by else ""
        return f"{line}, approved by {row.decided_by}{auto}"
    if row.status == ProposalStatus.rejected:
        return f"{line}, rejected by {row.decided_by}"
    return f"{line}, waiting for approval"


def proposal_out(row: ProposalRow) -> Proposal:
    status = ProposalStatus.pending if row.status == APPROVING else ProposalStatus(row.status)
    return Proposal(id=row.id, tool=row.tool, operation=row.operation, arguments=row.arguments,
                    stated_reason=row.stated_reason, agent=row.agent, requested_by=row.requested_by,
                    account_id=row.account_id, status=status, created_at=row.created_at, decided_by=row.decided_by,
                    decided_at=row.decided_at, note=row.note, result=row.result, audit=audit_line(row))


def propose(session: Session, *, tool: str, operation: str, arguments: dict[str, Any], stated_reason: str, agent: str,
            requested_by: str, account_id: str | None) -> Proposal:
    row = ProposalRow(id=new_proposal_id(), tool=tool, operation=operation, arguments=arguments,
                      stated_reason=stated_reason, agent=agent[:200], requested_by=requested_by,
                      account_id=account_id, status=ProposalStatus.pending.value)
    session.add(row)
    session.commit()
    session.refresh(row)
    return proposal_out(row)


def _visible(session: Session, query, viewer: Viewer):
    """On an account the viewer may see, or made for the viewer or someone who reports to them (an act on no
    account, e.g. an action item, is their manager's to approve)."""
    if book_wide(viewer):
        return query
    viewer = resolved(session, viewer)  # their team read once: both conditions use it
    return query.where(or_(ProposalRow.requested_by.in_(viewer.team), visible_clause(ProposalRow, viewer)))


def list_proposals(session: Session, viewer: Viewer, status: ProposalStatus | None = None, account_id: str | None = None,
                   requested_by: str | None = None, page: PageRequest = PageRequest()) -> Page[Proposal]:
    """Newest first, on the accounts the viewer may see (and the viewer's own)."""
    query = _visible(session, select(ProposalRow), viewer)
    if status is not None:
        statuses = [status.value, APPROVING] if status == ProposalStatus.pending else [status.value]
        query = query.where(ProposalRow.status.in_(statuses))
    if account_id is not None:
        query = query.where(ProposalRow.account_id == account_id)
    if requested_by is not None:
        query = query.where(ProposalRow.requested_by == requested_by)
    order = (SortKey(ProposalRow.created_at, descending=True), SortKey(ProposalRow.id, descending=True))
    return page_of(session, query, page, "proposals", order, proposal_out)


def _row(session: Session, viewer: Viewer, proposal_id: str) -> ProposalRow:
    row = session.get(ProposalRow, proposal_id)
    if row is None or not can_see(session, viewer, row.account_id or "", [row.requested_by]):
        raise PillarError("not_found", f"no proposal {proposal_id!r}")
    return row


def get_proposal(session: Session, viewer: Viewer, proposal_id: str) -> Proposal:
    return proposal_out(_row(session, viewer, proposal_id))


def _decidable(session: Session, viewer: Viewer, proposal_id: str) -> ProposalRow:
    row = _row(session, viewer, proposal_id)
    if row.status != ProposalStatus.pending:
        raise PillarError("conflict", f"proposal {proposal_id} is already {proposal_out(row).status.value}: "
                          "only a pending proposal can be decided", {"status": row.status})
    if row.requested_by == viewer.id:
        raise PillarError("forbidden", f"proposal {proposal_id} was made on your behalf: someone else approves or "
                          "rejects it (a low-risk act can be let through in your agent settings instead)")
    return row


def claim(session: Session, viewer: Viewer, proposal_id: str) -> Proposal:
    """Mark a pending proposal as being approved by `viewer`, or refuse; exactly one approver wins a race."""
    _decidable(session, viewer, proposal_id)
    claimed = session.execute(update(ProposalRow).where(ProposalRow.id == proposal_id,
                                                        ProposalRow.status == ProposalStatus.pending.value)
                              .values(status=APPROVING)).rowcount
    session.commit()
    if not claimed:
        raise PillarError("conflict", f"proposal {proposal_id} is being decided by someone else")
    return proposal_out(session.get(ProposalRow, proposal_id))


def release(session: Session, proposal_id: str) -> None:
    """The act was refused or failed: the proposal waits again, unchanged."""
    session.execute(update(ProposalRow).where(ProposalRow.id == proposal_id, ProposalRow.status == APPROVING)
                    .values(status=ProposalStatus.pending.value))
    session.commit()


def mark_applied(session: Session, proposal_id: str, decided_by: str, note: str | None, result: Any) -> Proposal:
    row = session.get(ProposalRow, proposal_id)
    row.status, row.decided_by, row.decided_at = ProposalStatus.applied.value, decided_by, datetime.now(UTC)
    row.note, row.result = note, result
    session.add(row)
    session.commit()
    session.refresh(row)
    return proposal_out(row)


def reject(session: Session, viewer: Viewer, proposal_id: str, reason: str) -> Proposal:
    row = _decidable(session, viewer, proposal_id)
    row.status, row.decided_by, row.decided_at, row.note = ProposalStatus.rejected.value, viewer.id, datetime.now(UTC), reason
    session.add(row)
    session.commit()
    session.refresh(row)
    return proposal_out(row)


def agent_settings(session: Session, user_id: str) -> AgentSettings:
    row = session.get(AgentSettingsRow, user_id)
    return AgentSettings(auto_approve=row.auto_approve if row else [])


def put_agent_settings(session: Session, user_id: str, settings: AgentSettings) -> AgentSettings:
    risky = sorted(set(settings.auto_approve) - set(LOW_RISK_ACTS))
    if risky:
        raise PillarError("invalid", f"only low-risk acts can skip approval ({', '.join(LOW_RISK_ACTS)}); not: "
                          f"{', '.join(risky)}", {"field": "auto_approve", "not_low_risk": risky})
    row = session.get(AgentSettingsRow, user_id) or AgentSettingsRow(user_id=user_id)
    row.auto_approve, row.updated_at = sorted(set(settings.auto_approve)), datetime.now(UTC)
    session.add(row)
    session.commit()
    return AgentSettings(auto_approve=row.auto_approve)


def auto_approves(session: Session, user_id: str, tool: str) -> bool:
    return tool in LOW_RISK_ACTS and tool in agent_settings(session, user_id).auto_approve
