"""An action that lands while a workflow is looking up an escalation's targets (the `resolve_escalation_target`
activity is running) wins: the escalation it interrupted neither fires, pages, nor overwrites any state.
SignalWorkflow: an acknowledgement or a reassignment; HandoffWorkflow: the receiver's acceptance."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.directory import resolve_escalation_target
from core.settings import get_settings
from core.temporal import run_update
from models.common import Actor, Role
from models.handoffs import HandoffAction, HandoffStatus
from models.signals import AcknowledgeInput, EscalationTargetRequest, ReassignInput, SignalStatus
from tests.conftest import eventually, record_history, seed
from tests.test_handoff_workflow import ALEX, COMPLETE, CORA, add_cora, audit, start
from tests.test_signal_workflow import inbox, open_renewal_risk
from workflows.handoff import HandoffWorkflow
from workflows.signal import SignalWorkflow
from worker import ACTIVITIES, WORKFLOWS


class Gate:
    """The real `resolve_escalation_target`, held until the test lets it answer."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

        @activity.defn(name="resolve_escalation_target")
        def held(request: EscalationTargetRequest) -> list[str]:
            self.entered.set()
            self.release.wait(30)
            return resolve_escalation_target(request)

        self.activity = held


async def lookup_answered(handle) -> bool:
    """The workflow has run a workflow task after the look-up's result came back."""
    events = (await handle.fetch_history()).events
    done = [i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
            and events[e.activity_task_completed_event_attributes.scheduled_event_id - 1]
            .activity_task_scheduled_event_attributes.activity_type.name == "resolve_escalation_target"]
    return bool(done) and any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in events[done[-1]:])


async def run_with_gate(ts_env, act, begin=None, lapse=timedelta(hours=4, minutes=1), state=SignalWorkflow.state) -> tuple:
    """`begin` starts the execution (a signal by default); once `lapse` has passed its SLA's escalation is looking up
    its targets, and `act` runs then."""
    seed()
    gate = Gate()
    activities = [gate.activity if a is resolve_escalation_target else a for a in ACTIVITIES]
    async with Worker(ts_env.client, task_queue=get_settings().temporal_task_queue, workflows=WORKFLOWS,
                      activities=activities, activity_executor=ThreadPoolExecutor(max_workers=8),
                      workflow_failure_exception_types=[Exception], max_cached_workflows=0):
        handle = await begin(ts_env.client) if begin else (await open_renewal_risk(ts_env.client))[1]
        # the SLA lapses: level 1 looks up its target (time stands still while the look-up is held)
        sleeping = asyncio.create_task(ts_env.sleep(lapse))
        assert await asyncio.to_thread(gate.entered.wait, 30)
        await act(handle)
        gate.release.set()
        await sleeping
        await eventually(lambda: lookup_answered(handle))
        return handle, await handle.query(state)


async def test_an_acknowledgement_during_the_escalation_look_up_stops_it(ts_env, sqlite_db):
    async def acknowledge(handle):
        await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=Actor(id="lee", role=Role.csm_lead)))

    handle, state = await run_with_gate(ts_env, acknowledge)
    assert state.status == SignalStatus.acknowledged and state.acknowledged_by == "lee"
    assert state.escalation_level == 0 and state.escalated_to == []
    assert not any(e.type == "escalated" for e in state.timeline)
    assert inbox("maya") == []
    await record_history(handle, "signal_acknowledged_during_escalation_look_up")


async def test_a_reassignment_during_the_escalation_look_up_restarts_the_sla_cleanly(ts_env, sqlite_db):
    async def reassign(handle):
        manager = Actor(id="maya", role=Role.manager, reports=["lee", "casey", "alex", "sam", "sky"])
        await run_update(handle, SignalWorkflow.reassign, ReassignInput(actor=manager, to_user_id="casey", reason="Casey knows Acme"))

    _, state = await run_with_gate(ts_env, reassign)
    assert state.owners == ["casey"] and state.status == SignalStatus.open
    assert state.escalation_level == 0 and state.escalated_to == []
    assert not any(e.type == "escalated" for e in state.timeline)


async def test_an_acceptance_during_the_escalation_look_up_stops_it(ts_env, sqlite_db):
    async def submitted(client):
        add_cora()
        _, handle = await start(client, COMPLETE)
        await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX))
        return handle

    async def accept(handle):
        await run_update(handle, HandoffWorkflow.accept, HandoffAction(actor=CORA))

    handle, handoff = await run_with_gate(ts_env, accept, begin=submitted, lapse=timedelta(hours=24, minutes=1),
                                           state=HandoffWorkflow.state)
    assert handoff.status == HandoffStatus.accepted
    assert handoff.escalation_level == 0 and handoff.escalated_to == []
    assert [row.action for row in audit(handoff.id)] == ["created", "submitted", "acceptance_sla_lapsed", "accepted"]
    assert not [n for n in inbox("lee") if n.kind == "escalation"]  # cora's manager
    await record_history(handle, "handoff_accepted_during_escalation_look_up")
