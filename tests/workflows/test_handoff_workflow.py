"""HandoffWorkflow on the time-skipping server: the gate, the acceptance SLA and its escalation, reject and resubmit,
the manager's override and its governance-violation signal, the team change and the audit trail."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.common import Actor, Role
from models.handoffs import HandoffAction, HandoffStatus
from models.tables import Account, HandoffRow, NotificationRow
from services.handoffs import act_on
from services.signals import signal_handle
from tests.support.handoffs import ALEX, COMPLETE, CORA, add_cora, audit, start
from tests.support.histories import record_history
from workflows.handoff import HandoffWorkflow
from workflows.signal import SignalWorkflow

MAYA = Actor(id="maya", role=Role.manager, reports=["lee", "casey", "cora", "alex", "sam", "sky"])


def inbox(user_id: str) -> list[NotificationRow]:
    with Session(get_engine()) as session:
        return list(session.exec(select(NotificationRow).where(NotificationRow.user_id == user_id)))


def acme_team() -> dict[str, str]:
    with Session(get_engine()) as session:
        return session.get(Account, "acme").team


async def refused(handle, update, action: HandoffAction) -> PillarError:
    with pytest.raises(PillarError) as error:
        await run_update(handle, update, action)
    return error.value


async def test_the_gate_refuses_a_submit_until_every_required_field_carries_content(ts_env, ts_worker):
    add_cora()
    partial = {**COMPLETE, "known_risks": [], "open_commitments": "  ", "champion_map": {}}
    handoff, handle = await start(ts_env.client, partial)
    assert handoff.status == HandoffStatus.draft
    assert handoff.missing_fields == ["champion_map", "known_risks", "open_commitments"]

    error = await refused(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
    assert error.code == "invalid" and error.details == {"missing_fields": ["champion_map", "known_risks", "open_commitments"]}
    assert "champion_map" in error.message
    assert (await refused(handle, HandoffWorkflow.patch, HandoffAction(actor=CORA, fields={"known_risks": ["x"]}))).code == "forbidden"
    assert (await refused(handle, HandoffWorkflow.accept, HandoffAction(actor=CORA))).code == "conflict"

    patched = await run_update(handle, HandoffWorkflow.patch, HandoffAction(actor=ALEX, fields=COMPLETE))
    assert patched.missing_fields == [] and patched.fields == {}  # the answer leaves the fields to a query
    assert (await handle.query(HandoffWorkflow.state)).fields["procurement_timeline"] == "PO by March"
    submitted = await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
    assert submitted.status == HandoffStatus.submitted
    assert [n.kind for n in inbox("cora")] == ["handoff_request"]
    assert (await refused(handle, HandoffWorkflow.patch, HandoffAction(actor=ALEX, fields={"pain": "x"}))).code == "conflict"
    assert (await refused(handle, HandoffWorkflow.accept, HandoffAction(actor=ALEX))).code == "forbidden"

    assert [row.action for row in audit(handoff.id)] == ["created", "patched", "submitted"]
    assert audit(handoff.id)[2].fields_transferred == sorted(COMPLETE)


async def test_an_unaccepted_handoff_escalates_to_the_receivers_manager_then_acceptance_moves_the_team(ts_env, ts_worker):
    add_cora()
    handoff, handle = await start(ts_env.client, COMPLETE)
    await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
    submitted_at = (await handle.query(HandoffWorkflow.state)).submitted_at

    await ts_env.sleep(timedelta(hours=23, minutes=59))
    state = await handle.query(HandoffWorkflow.state)
    assert state.escalation_level == 0 and inbox("lee") == []

    await ts_env.sleep(timedelta(minutes=2))
    state = await handle.query(HandoffWorkflow.state)
    assert state.status == HandoffStatus.submitted and state.escalation_level == 1 and state.escalated_to == ["lee"]
    assert [n.kind for n in inbox("lee")] == ["escalation"]
    lapsed = next(row for row in audit(handoff.id) if row.action == "acceptance_sla_lapsed")
    assert lapsed.at - submitted_at == pytest.approx(timedelta(hours=24), abs=timedelta(seconds=5))

    assert acme_team()["csm"] == "casey"
    accepted = await run_update(handle, HandoffWorkflow.accept, HandoffAction(actor=CORA))
    assert accepted.status == HandoffStatus.accepted and accepted.completed_by == "cora"
    assert acme_team()["csm"] == "cora" and acme_team()["ae"] == "alex"
    final = await handle.result()
    assert final.fields == COMPLETE
    actions = [row.action for row in audit(handoff.id)]
    assert actions == ["created", "submitted", "acceptance_sla_lapsed", "escalated", "accepted"]
    assert audit(handoff.id)[-1].actor_id == "cora" and audit(handoff.id)[-1].fields_transferred == sorted(COMPLETE)
    with Session(get_engine()) as session:
        assert session.get(HandoffRow, handoff.id).status == "accepted"
    await record_history(handle, "handoff_escalated_then_accepted")
    await record_history(handle, "handoff_escalated_then_accepted_early_timer_patch")
    await record_history(handle, "handoff_escalated_then_accepted_on_the_ladder")
    await record_history(handle, "handoff_escalated_then_accepted_compact_saves")


async def test_a_rejection_returns_it_to_draft_stops_the_clock_and_a_resubmission_restarts_it(ts_env, ts_worker):
    add_cora()
    handoff, handle = await start(ts_env.client, COMPLETE)
    await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
    await ts_env.sleep(timedelta(hours=2))

    assert (await refused(handle, HandoffWorkflow.reject, HandoffAction(actor=CORA, reason=" "))).code == "invalid"
    assert (await refused(handle, HandoffWorkflow.reject, HandoffAction(actor=ALEX, reason="no"))).code == "forbidden"
    rejected = await run_update(handle, HandoffWorkflow.reject, HandoffAction(actor=CORA, reason="champion map is stale"))
    assert rejected.status == HandoffStatus.draft and rejected.rejection_reason == "champion map is stale"
    assert [n.kind for n in inbox("alex")] == ["handoff_rejected"] and "champion map is stale" in inbox("alex")[0].text

    await ts_env.sleep(timedelta(days=3))
    assert (await handle.query(HandoffWorkflow.state)).escalation_level == 0 and inbox("lee") == []

    await run_update(handle, HandoffWorkflow.patch, HandoffAction(actor=ALEX, fields={"champion_map": {"champion": "Dr. Lin"}}))
    resubmitted = await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
    assert resubmitted.status == HandoffStatus.submitted and resubmitted.rejection_reason is None
    assert [n.kind for n in inbox("cora")] == ["handoff_request", "handoff_request"]
    await ts_env.sleep(timedelta(hours=23))
    assert (await handle.query(HandoffWorkflow.state)).escalation_level == 0
    await ts_env.sleep(timedelta(hours=2))
    assert (await handle.query(HandoffWorkflow.state)).escalation_level == 1

    await run_update(handle, HandoffWorkflow.accept, HandoffAction(actor=CORA))
    actions = [row.action for row in audit(handoff.id)]
    assert actions == ["created", "submitted", "rejected", "patched", "submitted", "acceptance_sla_lapsed", "escalated", "accepted"]
    assert audit(handoff.id)[2].detail == "champion map is stale"


async def test_a_managers_override_completes_it_without_the_fields_and_fires_a_governance_signal(ts_env, ts_worker):
    add_cora()
    handoff, handle = await start(ts_env.client, {"buying_criteria": ["SSO"], "known_risks": ""})
    outsider = Actor(id="mo", role=Role.manager, reports=["zed"])
    assert (await refused(handle, HandoffWorkflow.override, HandoffAction(actor=CORA, reason="x"))).code == "forbidden"
    assert (await refused(handle, HandoffWorkflow.override, HandoffAction(actor=outsider, reason="x"))).code == "forbidden"
    assert (await refused(handle, HandoffWorkflow.override, HandoffAction(actor=MAYA, reason=""))).code == "invalid"

    overridden = await run_update(handle, HandoffWorkflow.override, HandoffAction(actor=MAYA, reason="renewal call tomorrow"))
    missing = ["champion_map", "procurement_timeline", "known_risks", "open_commitments", "related_signals"]
    assert overridden.status == HandoffStatus.overridden and overridden.missing_fields == missing
    assert overridden.governance_signal_id and acme_team()["csm"] == "cora"
    with Session(get_engine()) as session:
        for update, actor in ((HandoffWorkflow.override, MAYA), (HandoffWorkflow.submit, ALEX)):
            with pytest.raises(PillarError) as error:
                await act_on(session, ts_env.client, handoff.id, update, HandoffAction(actor=actor, reason="again"))
            assert error.value.code == "conflict" and "overridden" in error.value.message

    signal = await signal_handle(ts_env.client, overridden.governance_signal_id).query(SignalWorkflow.state)
    assert signal.family == "handoff_governance_violation" and signal.account_id == "acme" and signal.owners == ["maya"]
    assert signal.evidence["missing_fields"] == missing and signal.evidence["handoff_id"] == handoff.id
    assert signal.evidence["actor_id"] == "maya" and signal.evidence["reason"] == "renewal call tomorrow"

    rows = audit(handoff.id)
    assert [row.action for row in rows] == ["created", "overridden", "governance_signal"]
    assert rows[1].actor_id == "maya" and rows[1].fields_transferred == ["buying_criteria"] and "procurement_timeline" in rows[1].detail
    await record_history(handle, "handoff_overridden")
    await record_history(handle, "handoff_overridden_on_the_ladder")
    await record_history(handle, "handoff_overridden_compact_saves")
