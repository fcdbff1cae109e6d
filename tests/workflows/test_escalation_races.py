"""An action that lands while a workflow is looking up an escalation's targets (the `resolve_escalation_target`
activity is running) wins: the escalation it interrupted neither fires, pages, nor overwrites any state.
SignalWorkflow: an acknowledgement or a reassignment, or an overdue task's outcome; HandoffWorkflow: the receiver's
acceptance; PlayWorkflow: an overdue step's completion; RitualWorkflow: an overdue action item's outcome."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from sqlmodel import Session
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.directory import DirectoryActivities
from core.db import get_engine, session_scope
from core.settings import get_settings
from core.temporal import run_update
from models.common import Actor, Role
from models.handoffs import HandoffAction, HandoffStatus
from models.plays import PlayRunIn, StepStatus
from models.rituals import ActionItemOutcomeInput, AddActionItemInput, RitualRun
from models.signals import AcknowledgeInput, ReassignInput, SignalStatus
from models.tasks import TaskIn, TaskOutcomeInput
from services.plays import play_handle, start_play_run
from services.tasks import add_task
from tests.support.db import actor, inbox as pages_about
from tests.support.handoffs import ALEX, COMPLETE, CORA, add_cora, audit, start
from tests.support.histories import record_history
from tests.support.plays import complete
from tests.support.rituals import agenda_built
from tests.support.signals import inbox, open_renewal_risk, open_signal_for
from tests.support.stack import seed
from tests.support.waiting import eventually
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow
from workflows.ritual import RitualWorkflow
from workflows.signal import SignalWorkflow
from worker import Activities
from workflows import WORKFLOWS


class Gate:
    """The real directory, whose look-ups are held (before their session opens) until the test lets them answer."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    @contextmanager
    def sessions(self):
        self.entered.set()
        self.release.wait(30)
        with session_scope() as session:
            yield session


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
    activities = Activities.build(ts_env.client)
    activities.directory = DirectoryActivities(gate.sessions)
    async with Worker(ts_env.client, task_queue=get_settings().temporal_task_queue, workflows=WORKFLOWS,
                      activities=activities.all(), activity_executor=ThreadPoolExecutor(max_workers=8),
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
    await record_history(handle, "signal_acknowledged_during_escalation_look_up_on_the_ladder")


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
    await record_history(handle, "handoff_accepted_during_escalation_look_up_on_the_ladder")


# --- overdue escalations: the look-up of an overdue item's owner's manager --------------------------------


async def test_an_outcome_during_an_overdue_tasks_escalation_look_up_stops_it(ts_env, sqlite_db):
    task_ids = []

    async def overdue_task(client):  # adoption_decay warning on Globex → casey; the task is due in P3D
        created, handle = await open_signal_for(client)
        casey = actor("casey", "csm")
        await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=casey))
        with Session(get_engine()) as session:
            task_ids.append((await add_task(session, client, created.id, TaskIn(template_key="adoption_enablement"), casey)).id)
        return handle

    async def renewed(handle):
        await run_update(handle, SignalWorkflow.set_task_outcome,
                         TaskOutcomeInput(task_id=task_ids[0], outcome="renewed", actor=actor("casey", "csm")))

    # overdue after three days, casey's manager looked up a day later
    handle, signal = await run_with_gate(ts_env, renewed, begin=overdue_task, lapse=timedelta(days=4, minutes=1))
    task = signal.tasks[0]
    assert task.outcome == "renewed" and signal.status == SignalStatus.resolved
    assert task.overdue_paged and task.escalated_at is None and task.escalated_to == []
    assert not any(e.type == "task_escalated" for e in signal.timeline)
    assert "escalation" not in pages_about("lee", task.id)  # casey's manager
    await record_history(handle, "signal_task_outcome_during_escalation_look_up")
    await record_history(handle, "signal_task_outcome_during_escalation_look_up_on_the_ladder")
    await record_history(handle, "signal_task_outcome_during_escalation_look_up_compact_saves")


async def test_completing_a_step_during_its_overdue_escalation_look_up_stops_it(ts_env, sqlite_db):
    async def renewal_save(client):  # diagnose: casey's, due in P2D, escalated a day later
        with Session(get_engine()) as session:
            run = await start_play_run(session, client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee")
        return play_handle(client, run.id)

    async def diagnosed(handle):
        await complete(handle, "diagnose", actor("casey", "csm"))

    handle, run = await run_with_gate(ts_env, diagnosed, begin=renewal_save, lapse=timedelta(days=3, minutes=1),
                                      state=PlayWorkflow.state)
    step = next(s for s in run.steps if s.key == "diagnose")
    assert step.status == StepStatus.done and step.escalated_at is None and step.escalated_to == []
    assert any(e.type == "step_overdue" for e in run.timeline)
    assert not any(e.type == "step_escalated" for e in run.timeline)
    assert "escalation" not in pages_about("lee", run.id)  # casey's manager (paged for exec_sponsor, not escalated to)
    await record_history(handle, "play_step_completed_during_escalation_look_up")
    await record_history(handle, "play_step_completed_during_escalation_look_up_on_the_ladder")
    await record_history(handle, "play_step_completed_during_escalation_look_up_compact_saves")


async def test_an_outcome_during_an_overdue_action_items_escalation_look_up_stops_it(ts_env, sqlite_db):
    item_ids = []

    async def overdue_item(client):  # casey's action item from Monday's triage, due in an hour, escalated a day later
        now = await ts_env.get_current_time()
        handle = await client.start_workflow(
            RitualWorkflow.run, RitualRun(ritual_key="signal_triage", motion="academic", scheduled_at=now),
            id="ritual-race", task_queue=get_settings().temporal_task_queue)
        await eventually(lambda: agenda_built(handle))
        item = await run_update(handle, RitualWorkflow.add_action_item, AddActionItemInput(
            actor=actor("maya", "manager"), title="Call Acme's provost", owner_id="casey", due_at=now + timedelta(hours=1)))
        item_ids.append(item.id)
        return handle

    async def renewed(handle):
        await run_update(handle, RitualWorkflow.set_action_item_outcome,
                         ActionItemOutcomeInput(item_id=item_ids[0], outcome="renewed", actor=actor("casey", "csm")))

    handle, ritual = await run_with_gate(ts_env, renewed, begin=overdue_item, lapse=timedelta(days=1, hours=1, minutes=1),
                                         state=RitualWorkflow.state)
    item = ritual.action_items[0]
    assert item.outcome == "renewed" and item.overdue_paged
    assert item.escalated_at is None and item.escalated_to == []
    assert pages_about("lee", item.id) == []  # casey's manager
    await record_history(handle, "ritual_item_outcome_during_escalation_look_up")
    await record_history(handle, "ritual_item_outcome_during_escalation_look_up_on_the_ladder")
