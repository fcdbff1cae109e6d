"""PlayWorkflow on the time-skipping server: a Renewal Save over fourteen simulated days, its refusals, and a
play-library change that leaves a running play alone."""

import shutil
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.plays import ExitInput, PlayRunIn, RunStatus, StepCompleteInput, StepStatus
from models.signals import SignalIn, SignalStatus
from models.tables import PlayRunRow
from plays import PLAYS_DIR, load_library
from services.plays import play_handle, start_play_run
from services.signals import open_signal
from tests.support.db import actor, inbox
from tests.support.histories import WORKFLOW_TASK_EVENTS, record_history
from tests.support.plays import FIELDS, complete, renewal_save_from_a_critical_signal
from workflows.play import PlayWorkflow


async def test_a_renewal_save_runs_fourteen_days_escalates_an_overdue_step_and_resolves_its_signal(ts_env, ts_worker):
    signal, task, play = await renewal_save_from_a_critical_signal(ts_env.client)
    casey, lee, alex = actor("casey", "csm"), actor("lee", "csm_lead"), actor("alex", "ae")
    run_id = task.play_run_id
    t0 = await ts_env.get_current_time()

    async def at_day(days: float):
        await ts_env.sleep(t0 + timedelta(days=days) - await ts_env.get_current_time())

    run = await play.query(PlayWorkflow.state)
    assert run.play_version == 2 and run.signal_id == task.signal_id and run.task_id == task.id
    assert {s.key: (s.status, s.owner_id) for s in run.steps} == {
        "diagnose": ("ready", "casey"), "exec_sponsor": ("blocked", "lee"), "save_plan": ("blocked", "casey"),
        "commercial_offer": ("blocked", "alex"), "renewal_decision": ("blocked", "casey")}

    await at_day(1)
    await complete(play, "diagnose", casey)
    run = await play.query(PlayWorkflow.state)
    assert {s.key for s in run.steps if s.status == StepStatus.ready} == {"exec_sponsor", "save_plan"}  # the fork
    await at_day(3)
    await complete(play, "exec_sponsor", lee)

    # save_plan was due four days after it opened (day 5): Casey is paged then, Lee (her manager) a day later
    await at_day(4.95)
    assert inbox("casey", run_id).count("overdue") == 0
    await at_day(5.05)
    assert inbox("casey", run_id).count("overdue") == 1 and inbox("lee", run_id).count("escalation") == 0
    run = (await play.query(PlayWorkflow.state)).as_of(await ts_env.get_current_time())  # as the API shows it
    assert run.stuck.step_key == "save_plan" and run.stuck.owner_id == "casey"
    assert run.stuck.overdue_seconds == pytest.approx(0.05 * 86400, abs=120)
    with Session(get_engine()) as session:
        assert session.get(PlayRunRow, run_id).stuck_step_key == "save_plan"
    await at_day(5.95)
    assert inbox("lee", run_id).count("escalation") == 0
    await at_day(6.05)
    assert inbox("lee", run_id).count("escalation") == 1 and inbox("maya", run_id) == []
    run = await play.query(PlayWorkflow.state)
    escalated = next(e for e in run.timeline if e.type == "step_escalated")
    assert escalated.at - t0 == pytest.approx(timedelta(days=6), abs=timedelta(minutes=1)) and "lee" in escalated.detail

    await at_day(6.5)
    await complete(play, "save_plan", casey)
    await at_day(9)
    await complete(play, "commercial_offer", alex)
    await at_day(12.75)  # due at day 13 (not on the dot: the Java test server mishandles an update racing a timer)
    await complete(play, "renewal_decision", casey)
    run = await play.query(PlayWorkflow.state)
    assert all(s.status == StepStatus.done for s in run.steps) and run.stuck is None and run.status == RunStatus.running

    await at_day(14)
    await run_update(play, PlayWorkflow.exit, ExitInput(outcome="renewed", note="two-year renewal signed", actor=casey))
    finished = await play.result()
    assert finished.status == RunStatus.completed and finished.outcome == "renewed"
    resolved = await signal.result()
    assert resolved.status == SignalStatus.resolved
    assert resolved.tasks[0].outcome == "renewed" and resolved.tasks[0].outcome_by == f"play:{run_id}"
    assert "overdue" not in inbox("lee", task.id)  # the play's steps carried the timers, not its task
    with Session(get_engine()) as session:
        row = session.get(PlayRunRow, run_id)
        assert row.status == "completed" and row.outcome == "renewed" and row.stuck_step_key is None
    await record_history(play, "play_renewal_save_fourteen_days")
    await record_history(play, "play_renewal_save_fourteen_days_on_the_ladder")
    await record_history(play, "play_renewal_save_fourteen_days_compact_saves")


async def test_every_refusal_changes_nothing(ts_env, ts_worker):
    signal, task, play = await renewal_save_from_a_critical_signal(ts_env.client)
    casey, sky, alex = actor("casey", "csm"), actor("sky", "support"), actor("alex", "ae")
    await ts_env.sleep(timedelta(hours=1))
    before_run = await play.query(PlayWorkflow.state)
    before = len((await play.fetch_history()).events)

    async def refused(update, request):
        with pytest.raises(PillarError) as error:
            await run_update(play, update, request)
        return error.value

    error = await refused(PlayWorkflow.complete_step, StepCompleteInput(step_key="save_plan", actor=casey, fields=FIELDS["save_plan"]))
    assert error.code == "conflict" and "diagnose" in error.message
    error = await refused(PlayWorkflow.complete_step, StepCompleteInput(step_key="diagnose", actor=casey, fields={"root_cause": "x"}))
    assert error.code == "invalid" and "health_evidence" in error.message and error.details == {"missing_fields": ["health_evidence"]}
    error = await refused(PlayWorkflow.complete_step, StepCompleteInput(step_key="diagnose", actor=sky, fields=FIELDS["diagnose"]))
    assert error.code == "forbidden" and "casey" in error.message
    error = await refused(PlayWorkflow.complete_step, StepCompleteInput(step_key="diagnose", actor=alex, fields=FIELDS["diagnose"]))
    assert error.code == "forbidden"
    error = await refused(PlayWorkflow.exit, ExitInput(outcome="done", actor=casey))
    assert error.code == "invalid" and "renewed, churned, expanded" in error.message
    assert error.details == {"valid_outcomes": ["renewed", "churned", "expanded"]}

    new_events = (await play.fetch_history()).events[before:]
    assert all(e.event_type in WORKFLOW_TASK_EVENTS for e in new_events)
    assert await play.query(PlayWorkflow.state) == before_run

    # entry criteria: an expansion_trigger signal cannot start a Renewal Save; no run, no row
    with Session(get_engine()) as session:
        created, _ = await open_signal(session, ts_env.client, SignalIn(family="expansion_trigger", severity="warning", account_id="acme"), "t")
        with pytest.raises(PillarError) as error:
            await start_play_run(session, ts_env.client, PlayRunIn(play_key="renewal_save", account_id="acme", signal_id=created.id), "alex")
        assert error.value.code == "invalid" and "expansion_trigger" in error.value.message
        assert "renewal_risk" in error.value.message
        assert len(session.exec(select(PlayRunRow)).all()) == 1

    # the manager may complete a step for the owner
    lee = actor("lee", "csm_lead")
    done = await complete(play, "diagnose", lee)
    assert next(s for s in done.steps if s.key == "diagnose").completed_by == "lee"


async def test_a_new_version_of_renewal_save_does_not_change_a_run_in_flight(ts_env, ts_worker, tmp_path):
    with Session(get_engine()) as session:
        first = await start_play_run(session, ts_env.client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee")
    v1 = await play_handle(ts_env.client, first.id).query(PlayWorkflow.state)

    for path in PLAYS_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    v2_text = (PLAYS_DIR / "renewal_save.toml").read_text().replace("version = 2", "version = 3")
    v2_text = v2_text.replace('due = "P2D"\nrequired_fields = ["root_cause", "health_evidence"]',
                              'due = "PT12H"\nrequired_fields = ["root_cause", "health_evidence", "arr_at_risk"]')
    (tmp_path / "renewal_save.toml").write_text(v2_text)
    library = load_library(tmp_path)
    assert library["renewal_save"].version == 3

    with Session(get_engine()) as session:
        second = await start_play_run(session, ts_env.client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee", library)
    assert (first.play_version, second.play_version) == (2, 3)
    await ts_env.sleep(timedelta(hours=13))

    old = await play_handle(ts_env.client, first.id).query(PlayWorkflow.state)
    new = await play_handle(ts_env.client, second.id).query(PlayWorkflow.state)
    assert old.play_version == 2 and old.steps[0].due_at == v1.steps[0].due_at
    assert old.steps[0].required_fields == ["root_cause", "health_evidence"] and old.steps[0].status == StepStatus.ready
    assert new.steps[0].status == StepStatus.overdue and "arr_at_risk" in new.steps[0].required_fields
    casey = actor("casey", "csm")
    done = await complete(play_handle(ts_env.client, first.id), "diagnose", casey)  # v1's fields still suffice
    assert done.steps[0].status == StepStatus.done
    with pytest.raises(PillarError, match="arr_at_risk"):
        await complete(play_handle(ts_env.client, second.id), "diagnose", casey)
