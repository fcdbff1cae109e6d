"""Agent proposals in the database (SQLite and PostgreSQL, through the migrations): who sees one, who may decide it,
exactly one approver wins, and which acts a user may let through without approval."""

import pytest
from sqlmodel import Session

from core.db import get_engine
from core.errors import PillarError
from models.common import Role
from models.proposals import AgentSettings, ProposalStatus
from services import proposals
from tests.support.stack import seed


class Viewer:
    def __init__(self, user_id: str, role: str) -> None:
        self.id, self.role = user_id, Role(role)


def proposal_on(session, account_id="acme", requested_by="alex"):
    return proposals.propose(session, tool="acknowledge_signal", operation="POST /api/v1/signals/{signal_id}/acknowledge",
                             arguments={"signal_id": "sig-1"}, stated_reason="at risk", agent="an agent",
                             requested_by=requested_by, account_id=account_id)


def test_a_proposal_is_seen_by_its_account_and_its_requester_only(any_db):
    seed()
    with Session(get_engine()) as session:
        made = proposal_on(session)
        outsider = Viewer("nobody", "csm")
        assert proposals.list_proposals(session, outsider).items == []
        with pytest.raises(PillarError) as hidden:
            proposals.get_proposal(session, outsider, made.id)
        assert hidden.value.code == "not_found"
        for viewer in (Viewer("alex", "ae"), Viewer("lee", "csm_lead"), Viewer("maya", "manager"), Viewer("victor", "vp")):
            assert [p.id for p in proposals.list_proposals(session, viewer, ProposalStatus.pending).items] == [made.id]
        config_change = proposal_on(session, account_id=None, requested_by="rory")
        assert proposals.get_proposal(session, Viewer("rory", "revops"), config_change.id).id == config_change.id
        assert config_change.id not in [p.id for p in proposals.list_proposals(session, Viewer("lee", "csm_lead")).items]
        action_item = proposal_on(session, account_id=None, requested_by="casey")  # on no account: casey's managers
        for manager in (Viewer("lee", "csm_lead"), Viewer("maya", "manager")):
            assert proposals.get_proposal(session, manager, action_item.id).id == action_item.id
            assert action_item.id in [p.id for p in proposals.list_proposals(session, manager).items]
        with pytest.raises(PillarError):
            proposals.get_proposal(session, Viewer("alex", "ae"), action_item.id)  # a peer, not a manager


def test_one_decision_by_someone_else_than_the_requester(any_db):
    seed()
    with Session(get_engine()) as session:
        made = proposal_on(session)
        with pytest.raises(PillarError) as own:
            proposals.claim(session, Viewer("alex", "ae"), made.id)
        assert own.value.code == "forbidden"
        proposals.claim(session, Viewer("lee", "csm_lead"), made.id)
        with pytest.raises(PillarError) as twice:
            proposals.claim(session, Viewer("maya", "manager"), made.id)
        assert twice.value.code == "conflict"
        proposals.release(session, made.id)  # the act was refused: it waits again
        assert proposals.get_proposal(session, Viewer("lee", "csm_lead"), made.id).status == ProposalStatus.pending
        proposals.claim(session, Viewer("lee", "csm_lead"), made.id)
        applied = proposals.mark_applied(session, made.id, "lee", None, {"status": "acknowledged"})
        assert applied.audit == "proposed by agent an agent on behalf of alex, approved by lee"
        with pytest.raises(PillarError) as decided:
            proposals.reject(session, Viewer("maya", "manager"), made.id, "too late")
        assert decided.value.code == "conflict"


def test_only_low_risk_acts_skip_approval(any_db):
    seed()
    with Session(get_engine()) as session:
        assert not proposals.auto_approves(session, "casey", "acknowledge_signal")
        with pytest.raises(PillarError) as risky:
            proposals.put_agent_settings(session, "casey", AgentSettings(auto_approve=["reset_execution"]))
        assert risky.value.code == "invalid" and risky.value.details["not_low_risk"] == ["reset_execution"]
        proposals.put_agent_settings(session, "casey", AgentSettings(auto_approve=["acknowledge_signal"]))
        assert proposals.auto_approves(session, "casey", "acknowledge_signal")
        assert not proposals.auto_approves(session, "lee", "acknowledge_signal")
