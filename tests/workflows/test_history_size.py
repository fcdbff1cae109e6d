"""History size per change (issue 14, item 2): a signal driven through 500 changes, a play and a handoff through
many, keep their histories bounded, and linear in their changes with a small bound per change."""

from datetime import timedelta

import pytest
from sqlmodel import Session
from temporalio.api.history.v1 import History

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.common import Actor, Role
from models.handoffs import Handoff, HandoffAction
from models.plays import PlayRun, StepCompleteInput
from models.signals import AcknowledgeInput, ReassignInput, SignalIn
from models.tables import HandoffRow, PlayRunRow
from models.tasks import AddTaskInput, Outcome, TaskOutcomeInput
from services.plays import build_play_start, find_play, launch, play_handle
from services.signals import open_signal, signal_handle, stored_signal
from tests.support.db import actor
from tests.support.handoffs import ALEX, COMPLETE, add_cora, start
from tests.support.histories import WORKFLOW_TASK_EVENTS
from tests.support.plays import FIELDS
from tests.support.stack import seed
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow
from workflows.signal import SignalWorkflow

# Evidence near the 64 KB cap: it travels in the start input, and in no event after it
EVIDENCE = {f"metric_{i}": "x" * 500 for i in range(100)}


def history_bytes(history) -> int:
    return History(events=history.events).ByteSize()


@pytest.fixture
async def cached_worker(ts_env, sqlite_db):
    """A worker that keeps its workflows cached (ts_worker replays each history from its start on every task, which
    makes hundreds of changes quadratic in time whatever their history costs)."""
    from worker import build_worker

    seed()
    async with build_worker(ts_env.client, workflow_failure_exception_types=[Exception]) as worker:
        yield worker


async def test_a_signal_through_500_changes_keeps_its_history_bounded_and_linear(ts_env, cached_worker):
    with Session(get_engine()) as session:
        created, _ = await open_signal(session, ts_env.client, SignalIn(
            family="renewal_risk", severity="critical", account_id="acme", evidence=EVIDENCE), "test")
    handle = signal_handle(ts_env.client, created.id)
    started = history_bytes(await handle.fetch_history())
    alex, maya = actor("alex", "ae"), actor("maya", "manager")
    changes = 0
    for i in range(19):  # handed back and forth, within the cap of 20 reassignments
        await run_update(handle, SignalWorkflow.reassign, ReassignInput(
            actor=maya, to_user_id=("alex", "lee")[i % 2], reason=f"round {i}"))
        changes += 1
    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=alex))
    changes += 1
    now = await ts_env.get_current_time()
    task = await run_update(handle, SignalWorkflow.add_task, AddTaskInput(
        actor=alex, template_key="renewal_offer", title="Renewal offer", owner_id="alex",
        due_at=now + timedelta(days=30), escalate_after_seconds=86400))
    changes += 1
    sizes = {}
    while changes < 500:
        await run_update(handle, SignalWorkflow.set_task_outcome, TaskOutcomeInput(
            task_id=task.id, outcome=Outcome.blocked_waiting_on, blocked_on=f"procurement, round {changes}", actor=alex))
        changes += 1
        if changes in (100, 500):
            sizes[changes] = history_bytes(await handle.fetch_history())

    state = await handle.query(SignalWorkflow.state)
    assert len(state.timeline) > 500 and state.evidence == EVIDENCE  # the workflow keeps all of it
    with Session(get_engine()) as session:
        assert stored_signal(session, created.id) == state  # and so does the read model, timeline and all
    # an update's input and answer (a task), one save, one workflow task: about 1.7 KB, the 500th as the 100th
    per_change = (sizes[500] - sizes[100]) / 400
    assert per_change < 1800, f"{per_change:.0f} bytes of history per change"
    assert sizes[500] - started < 500 * 1800, f"{sizes[500] - started} bytes of history for 500 changes"


async def test_a_play_sends_each_steps_fields_once(ts_env, cached_worker):
    """Five steps, each completed with fields near the 64 KB cap: they travel in the step's completion and in one
    save, never again (saves and answers that carried every step's fields grew with each step)."""

    with Session(get_engine()) as session:
        start = build_play_start(session, find_play("renewal_save"), "acme", None, "test")
    created = await launch(ts_env.client, start)
    handle = play_handle(ts_env.client, created.id)
    admin = Actor(id="admin", role=Role.admin)
    blob = {f"note_{i}": "y" * 600 for i in range(90)}  # about 56 KB
    for step_key in FIELDS:
        await run_update(handle, PlayWorkflow.complete_step, StepCompleteInput(
            step_key=step_key, actor=admin, fields={**FIELDS[step_key], **blob}))
    run = await handle.query(PlayWorkflow.state)
    assert all(step.fields == {**FIELDS[step.key], **blob} for step in run.steps)
    with Session(get_engine()) as session:
        stored = PlayRun.model_validate(session.get(PlayRunRow, created.id).state)
    assert stored.model_dump(exclude={"stuck"}) == run.model_dump(exclude={"stuck"})

    size = history_bytes(await handle.fetch_history())
    blobs = 5 * len(str(blob))
    # each step's fields: in its update's input, its save and (one step) its CRM action; everything else is small
    assert size < 3 * blobs + 60_000, f"{size} bytes of history for {blobs} bytes of fields"


async def test_a_handoff_sends_each_field_once_and_caps_its_fields(ts_env, cached_worker):
    """Thirty patches of 2 KB each: each value travels in its patch and one save (saves and answers that carried
    every field grew with each patch); a patch past 64 KB or 100 fields in all is refused and changes nothing."""
    add_cora()
    handoff, handle = await start(ts_env.client, COMPLETE)
    for i in range(30):
        await run_update(handle, HandoffWorkflow.patch, HandoffAction(actor=ALEX, fields={f"note_{i}": "z" * 2000}))
    state = await handle.query(HandoffWorkflow.state)
    assert state.fields == {**COMPLETE, **{f"note_{i}": "z" * 2000 for i in range(30)}}
    with Session(get_engine()) as session:
        assert Handoff.model_validate(session.get(HandoffRow, handoff.id).state) == state
    size = history_bytes(await handle.fetch_history())
    assert size < 30 * (2 * 2000 + 2500) + 20_000, f"{size} bytes of history for 30 patches of 2 KB"

    before = len((await handle.fetch_history()).events)
    for fields, says in (({f"big_{i}": "z" * 2000 for i in range(3)}, "64 KB"),  # 66 KB in all
                         ({f"key_{i}": 1 for i in range(70)}, "100 fields")):  # 106 fields in all
        with pytest.raises(PillarError) as refused:
            await run_update(handle, HandoffWorkflow.patch, HandoffAction(actor=ALEX, fields=fields))
        assert refused.value.code == "invalid" and says in refused.value.message
    assert (await handle.query(HandoffWorkflow.state)).fields == state.fields
    history = await handle.fetch_history()
    assert {e.event_type for e in history.events[before:]} <= WORKFLOW_TASK_EVENTS
