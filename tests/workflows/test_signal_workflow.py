"""SignalWorkflow on the time-skipping server: paging, SLA, the escalation ladder, acknowledgement, reassignment."""

from datetime import timedelta

import pytest
from sqlmodel import Session
from temporalio.api.enums.v1 import EventType

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.common import Actor, Role
from models.signals import AcknowledgeInput, ReassignInput, SignalStatus
from models.tables import SignalRow
from tests.support.histories import WORKFLOW_TASK_EVENTS, record_history
from tests.support.signals import inbox, open_renewal_risk
from workflows.signal import SignalWorkflow


async def test_critical_renewal_risk_pages_both_owners_then_escalates_on_time(ts_env, ts_worker):
    created, handle = await open_renewal_risk(ts_env.client)
    assert created.owners == ["lee", "alex"]
    start = await ts_env.get_current_time()

    await ts_env.sleep(timedelta(hours=3, minutes=59))
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.open and state.escalation_level == 0
    assert [n.kind for n in inbox("lee")] == ["page"] and [n.kind for n in inbox("alex")] == ["page"]
    assert inbox("maya") == []

    await ts_env.sleep(timedelta(minutes=2))
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.escalated and state.escalation_level == 1
    assert state.escalated_to == ["maya"]
    escalation = next(e for e in state.timeline if e.type == "escalated")
    assert escalation.at - start == pytest.approx(timedelta(hours=4), abs=timedelta(seconds=5))
    assert [n.kind for n in inbox("maya")] == ["escalation"]

    await ts_env.sleep(timedelta(hours=4))
    state = await handle.query(SignalWorkflow.state)
    assert state.escalation_level == 2 and state.escalated_to == ["maya", "victor"]
    second = [e for e in state.timeline if e.type == "escalated"][1]
    assert second.at - escalation.at == pytest.approx(timedelta(hours=4), abs=timedelta(seconds=5))
    assert [n.kind for n in inbox("victor")] == ["escalation"]

    # the escalation target may acknowledge; the read model follows
    result = await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=Actor(id="victor", role=Role.vp)))
    assert result.status == SignalStatus.acknowledged
    with Session(get_engine()) as session:
        row = session.get(SignalRow, created.id)
        assert row.status == "acknowledged" and row.acknowledged_by == "victor" and row.escalation_level == 2
    await record_history(handle, "signal_escalated_twice_then_acknowledged")
    await record_history(handle, "signal_escalated_twice_then_acknowledged_early_timer_patch")
    await record_history(handle, "signal_escalated_twice_then_acknowledged_paged_and_saved_at_once")
    await record_history(handle, "signal_escalated_twice_then_acknowledged_on_the_ladder")
    await record_history(handle, "signal_escalated_twice_then_acknowledged_compact_saves")


async def test_acknowledgement_before_the_sla_stops_all_escalation(ts_env, ts_worker):
    _, handle = await open_renewal_risk(ts_env.client)
    await ts_env.sleep(timedelta(hours=1))
    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=Actor(id="alex", role=Role.ae)))
    await ts_env.sleep(timedelta(days=3))
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.acknowledged and state.escalation_level == 0
    assert not any(e.type in ("sla_lapsed", "escalated") for e in state.timeline)
    assert inbox("maya") == [] and inbox("victor") == []


async def test_a_non_owner_acknowledgement_is_refused_and_leaves_no_history(ts_env, ts_worker):
    _, handle = await open_renewal_risk(ts_env.client)
    await ts_env.sleep(timedelta(minutes=1))
    before = len((await handle.fetch_history()).events)

    with pytest.raises(PillarError) as refused:
        await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=Actor(id="casey", role=Role.csm)))
    assert refused.value.code == "forbidden"

    # The Java test server has no speculative workflow tasks, so it may add an empty workflow task;
    # no update is ever accepted or recorded. (The dev-server API test checks the history is byte-for-byte unchanged.)
    new_events = (await handle.fetch_history()).events[before:]
    assert all(e.event_type in WORKFLOW_TASK_EVENTS for e in new_events)
    assert (await handle.query(SignalWorkflow.state)).status == SignalStatus.open


async def test_reassignment_restarts_the_sla_for_the_new_owner(ts_env, ts_worker):
    _, handle = await open_renewal_risk(ts_env.client)
    await ts_env.sleep(timedelta(hours=5))  # escalated to level 1 already
    assert (await handle.query(SignalWorkflow.state)).escalation_level == 1

    manager = Actor(id="maya", role=Role.manager, reports=["lee", "casey", "alex", "sam", "sky"])
    await run_update(handle, SignalWorkflow.reassign, ReassignInput(actor=manager, to_user_id="casey", reason="Casey knows Acme"))
    reassigned = await handle.query(SignalWorkflow.state)
    assert reassigned.owners == ["casey"] and reassigned.status == SignalStatus.open and reassigned.escalation_level == 0
    assert [n.kind for n in inbox("casey")] == ["page"]

    await ts_env.sleep(timedelta(hours=3, minutes=50))
    assert (await handle.query(SignalWorkflow.state)).escalation_level == 0
    await ts_env.sleep(timedelta(minutes=20))
    state = await handle.query(SignalWorkflow.state)
    assert state.escalation_level == 1 and state.escalated_to == ["lee"]  # casey's manager
    lapses = [e for e in state.timeline if e.type == "sla_lapsed"]
    assert lapses[-1].at - reassigned.timeline[-2].at >= timedelta(hours=4) - timedelta(seconds=5)
    await record_history(handle, "signal_reassigned_then_escalated")
    await record_history(handle, "signal_reassigned_then_escalated_paged_and_saved_at_once")
    await record_history(handle, "signal_reassigned_then_escalated_on_the_ladder")
    await record_history(handle, "signal_reassigned_then_escalated_compact_saves")


async def test_a_page_and_the_read_model_revision_it_makes_are_one_local_activity_in_one_workflow_task(ts_env, ts_worker):
    """A busy server and worker page sooner: opening a signal takes one workflow task with one local activity before
    its SLA timer, and writes no search attribute the start did not already set."""
    created, handle = await open_renewal_risk(ts_env.client)
    await ts_env.sleep(timedelta(minutes=1))
    events = [e async for e in handle.fetch_history_events()]
    kinds = [e.event_type for e in events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
    assert kinds.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 3  # two patches (ladder, compact saves), the page
    upserted = [set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
                for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    assert upserted == [{"TemporalChangeVersion"}] * 2  # one per patch
    with Session(get_engine()) as session:
        row = session.get(SignalRow, created.id)
        assert row.status == "open" and [e["type"] for e in row.state["timeline"]] == ["created", "paged"]
    assert [n.kind for n in inbox("lee")] == ["page"]
