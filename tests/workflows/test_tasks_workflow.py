"""Tasks inside SignalWorkflow on the time-skipping server: created only after acknowledgement, a due date from the
severity, overdue → owner paged → manager paged, structured outcomes, and the signal resolving."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.signals import AcknowledgeInput, SignalStatus
from models.tables import TaskRow
from models.tasks import OutcomeIn, TaskIn
from services.task_templates import candidates_for
from services.tasks import add_task, set_outcome
from tests.support.db import actor, inbox
from tests.support.histories import record_history
from tests.support.signals import open_signal_for
from workflows.signal import SignalWorkflow


async def add(client, signal_id, who, **body):
    with Session(get_engine()) as session:
        return await add_task(session, client, signal_id, TaskIn(**body), who)


async def outcome(client, task_id, who, **body):
    with Session(get_engine()) as session:
        return await set_outcome(session, client, task_id, OutcomeIn(**body), who)


async def test_a_task_needs_acknowledgement_then_goes_overdue_escalates_and_resolves_the_signal(ts_env, ts_worker):
    created, handle = await open_signal_for(ts_env.client)  # adoption_decay warning → casey (csm), due P3D
    casey, lee, sky = actor("casey", "csm"), actor("lee", "csm_lead"), actor("sky", "support")

    with pytest.raises(PillarError) as refused:
        await add(ts_env.client, created.id, casey, template_key="adoption_enablement")
    assert refused.value.code == "conflict" and "acknowledge" in refused.value.message
    assert (await handle.query(SignalWorkflow.state)).tasks == []

    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=casey))
    signal = await handle.query(SignalWorkflow.state)
    with Session(get_engine()) as session:
        candidates = candidates_for(session, signal)
    assert [c.template_key for c in candidates] == ["adoption_assessment_prep", "adoption_enablement", "adoption_success_plan"]

    with pytest.raises(PillarError) as refused:
        await add(ts_env.client, created.id, sky, template_key="adoption_enablement")
    assert refused.value.code == "forbidden"
    with pytest.raises(PillarError) as refused:
        await add(ts_env.client, created.id, casey, template_key="renewal_offer")
    assert refused.value.code == "invalid" and "adoption_enablement" in refused.value.message

    start = await ts_env.get_current_time()
    task = await add(ts_env.client, created.id, casey, template_key="adoption_enablement")
    assert task.id == f"{created.id}-t1" and task.owner_id == "casey" and task.outcome is None
    assert task.due_at - start == pytest.approx(timedelta(days=3), abs=timedelta(minutes=1))

    await ts_env.sleep(timedelta(days=2, hours=23))
    assert inbox("casey", task.id) == [] and inbox("lee", task.id) == []
    await ts_env.sleep(timedelta(hours=2))
    assert inbox("casey", task.id) == ["overdue"] and inbox("lee", task.id) == []
    await ts_env.sleep(timedelta(days=1))
    assert inbox("lee", task.id) == ["escalation"]  # casey's manager
    state = await handle.query(SignalWorkflow.state)
    types = [e.type for e in state.timeline]
    assert types.index("task_overdue") < types.index("task_escalated")
    overdue_at = next(e.at for e in state.timeline if e.type == "task_overdue")
    escalated_at = next(e.at for e in state.timeline if e.type == "task_escalated")
    assert overdue_at - start == pytest.approx(timedelta(days=3), abs=timedelta(minutes=1))
    assert escalated_at - overdue_at == pytest.approx(timedelta(days=1), abs=timedelta(minutes=1))

    with pytest.raises(PillarError) as refused:
        await outcome(ts_env.client, task.id, sky, outcome="renewed")
    assert refused.value.code == "forbidden"
    blocked = await outcome(ts_env.client, task.id, casey, outcome="blocked_waiting_on", blocked_on="the admin's new-term schedule")
    assert blocked.outcome == "blocked_waiting_on"
    assert (await handle.query(SignalWorkflow.state)).status == SignalStatus.acknowledged  # not final

    done = await outcome(ts_env.client, task.id, lee, outcome="renewed", note="usage back after enablement")
    assert done.outcome == "renewed" and done.outcome_by == "lee"
    result = await handle.result()
    assert result.status == SignalStatus.resolved and result.tasks[0].outcome == "renewed"
    with Session(get_engine()) as session:
        row = session.get(TaskRow, task.id)
        assert row.outcome == "renewed" and not row.is_open and row.owner_id == "casey"
    await record_history(handle, "signal_task_overdue_escalated_then_renewed")
    await record_history(handle, "signal_task_overdue_escalated_then_renewed_on_the_ladder")
    await record_history(handle, "signal_task_overdue_escalated_then_renewed_compact_saves")


def test_outcome_vocabulary_is_closed():
    for bad in ["done", "Done", "closed", ""]:
        with pytest.raises(ValueError, match="valid outcomes are renewed, churned, expanded, lost, reassigned, blocked_waiting_on"):
            OutcomeIn(outcome=bad)
    with pytest.raises(ValueError, match="blocked_on"):
        OutcomeIn(outcome="blocked_waiting_on")
    assert OutcomeIn(outcome="lost").outcome == "lost"
