"""A signal's counts are capped (issue 14): at most 20 reassignments and 50 tasks, each refusal a clear 409 that
leaves nothing in the history but the workflow task that ran the validator."""

from datetime import timedelta

import pytest

from core.errors import PillarError
from core.temporal import run_update
from models.signals import MAX_REASSIGNMENTS, MAX_TASKS, AcknowledgeInput, ReassignInput
from models.tasks import AddTaskInput
from tests.support.db import actor
from tests.support.histories import WORKFLOW_TASK_EVENTS
from tests.support.signals import open_renewal_risk
from workflows.signal import SignalWorkflow


async def refused_and_nothing_recorded(handle, update, request) -> PillarError:
    before = len((await handle.fetch_history()).events)
    with pytest.raises(PillarError) as refused:
        await run_update(handle, update, request)
    assert {e.event_type for e in (await handle.fetch_history()).events[before:]} <= WORKFLOW_TASK_EVENTS
    return refused.value


async def test_a_signal_takes_at_most_20_reassignments_and_50_tasks(ts_env, ts_worker):
    created, handle = await open_renewal_risk(ts_env.client)  # lee (csm_lead) and alex (ae)
    maya = actor("maya", "manager")
    for i in range(MAX_REASSIGNMENTS):
        await run_update(handle, SignalWorkflow.reassign, ReassignInput(actor=maya, to_user_id=("alex", "lee")[i % 2], reason="r"))
    refusal = await refused_and_nothing_recorded(
        handle, SignalWorkflow.reassign, ReassignInput(actor=maya, to_user_id="alex", reason="once more"))
    assert refusal.code == "conflict" and f"reassigned {MAX_REASSIGNMENTS} times" in refusal.message

    lee = actor("lee", "csm_lead")
    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=lee))
    due_at = await ts_env.get_current_time() + timedelta(days=30)
    task = AddTaskInput(actor=lee, template_key="renewal_offer", title="Offer", owner_id="alex", due_at=due_at,
                        escalate_after_seconds=86400)
    for _ in range(MAX_TASKS):
        await run_update(handle, SignalWorkflow.add_task, task)
    refusal = await refused_and_nothing_recorded(handle, SignalWorkflow.add_task, task)
    assert refusal.code == "conflict" and f"has {MAX_TASKS} tasks" in refusal.message
    assert len((await handle.query(SignalWorkflow.state)).tasks) == MAX_TASKS
