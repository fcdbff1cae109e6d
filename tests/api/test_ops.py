"""Operations: replay against changed code (with and without workflow.patched), the CLI, list and reset."""

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowHistory
from typer.testing import CliRunner

import workflows
from cli import app
from core.db import get_engine
from models.tables import ExecutionFailureRow, OpsAuditRow
from services.ops import replay
from services.signals import signal_handle
from tests.support.http import assert_error, post_signal
from tests.support.paths import HISTORIES_DIR as HISTORIES
from tests.support.waiting import eventually
from tests.support.workflow_variants import SignalWorkflowWithPatchedPause, SignalWorkflowWithUnguardedPause
from workflows.signal import SignalWorkflow

SIGNAL_HISTORY = HISTORIES / "signal_escalated_twice_then_acknowledged.json"


def recorded_signal_history() -> WorkflowHistory:
    return WorkflowHistory.from_json(SIGNAL_HISTORY.stem, SIGNAL_HISTORY.read_text())


async def test_an_unpatched_change_is_caught_and_the_patched_one_passes():
    unpatched = await replay(recorded_signal_history(), [SignalWorkflowWithUnguardedPause])
    assert not unpatched.deterministic and "Nondeterminism" in unpatched.error
    patched = await replay(recorded_signal_history(), [SignalWorkflowWithPatchedPause])
    assert patched.deterministic, patched.error


def test_pillar_ops_replay_exits_non_zero_on_non_determinism(monkeypatch):
    runner = CliRunner()
    good = runner.invoke(app, ["ops", "replay", "--histories", str(HISTORIES)])
    assert good.exit_code == 0, good.output
    assert "0 not" in good.output

    monkeypatch.setattr(workflows, "WORKFLOWS", [SignalWorkflowWithUnguardedPause, *workflows.WORKFLOWS[1:]])
    broken = runner.invoke(app, ["ops", "replay", "--histories", str(HISTORIES)])
    assert broken.exit_code == 1
    assert "NON-DETERMINISTIC" in broken.output and SIGNAL_HISTORY.stem in broken.output

    monkeypatch.setattr(workflows, "WORKFLOWS", [SignalWorkflowWithPatchedPause, *workflows.WORKFLOWS[1:]])
    assert runner.invoke(app, ["ops", "replay", "--histories", str(HISTORIES)]).exit_code == 0


pytestmark_api = pytest.mark.asyncio(loop_scope="session")


@pytestmark_api
async def test_ops_lists_a_terminated_execution_with_its_reason(api):
    created = (await post_signal(api)).json()
    await signal_handle(api.client, created["id"]).terminate(reason="stuck on a bad deploy")

    async def listed():
        response = await api.http.get("/api/v1/ops/executions", params={"status": "terminated", "workflow_type": "SignalWorkflow"},
                                      headers=api.auth("olga"))
        return [e for e in response.json() if e["workflow_id"] == created["workflow_id"]]

    execution = (await eventually(listed))[0]
    assert execution["status"] == "terminated" and execution["failure"] == "terminated: stuck on a bad deploy"
    assert execution["account_id"] == "acme" and execution["run_id"]
    with Session(get_engine()) as session:  # read from its history once; later lists read the stored summary
        stored = session.get(ExecutionFailureRow, (created["workflow_id"], execution["run_id"]))
        assert (stored.status, stored.failure) == ("terminated", "terminated: stuck on a bad deploy")
    assert (await listed())[0]["failure"] == "terminated: stuck on a bad deploy"
    assert_error(await api.http.get("/api/v1/ops/executions", headers=api.auth("casey")), 403, "forbidden")
    assert_error(await api.http.get("/api/v1/ops/executions", params={"status": "exploded"}, headers=api.auth("olga")),
                 422, "invalid", "status")


@pytestmark_api
async def test_replay_and_reset_a_live_execution_on_the_dev_server(api):
    created = (await post_signal(api)).json()
    workflow_id = created["workflow_id"]
    handle = signal_handle(api.client, created["id"])

    async def paged():
        state = await handle.query(SignalWorkflow.state)
        return any(e.type == "paged" for e in state.timeline)

    await eventually(paged)
    replayed = await api.http.post(f"/api/v1/ops/executions/{workflow_id}/replay", headers=api.auth("olga"))
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["deterministic"] is True and replayed.json()["error"] is None

    first_run = (await handle.describe()).run_id
    url = f"/api/v1/ops/executions/{workflow_id}/reset"
    assert_error(await api.http.post(url, json={"reason": "retry"}, headers=api.auth("casey")), 403, "forbidden")
    assert_error(await api.http.post(url, json={}, headers=api.auth("olga")), 422, "invalid", "reason")
    assert_error(await api.http.post(url, json={"reason": "x", "event_id": 1}, headers=api.auth("olga")), 422, "invalid", "event 1")
    assert_error(await api.http.post("/api/v1/ops/executions/nope/reset", json={"reason": "x"}, headers=api.auth("olga")),
                 404, "not_found")

    response = await api.http.post(url, json={"reason": "re-run after the notification fix"}, headers=api.auth("olga"))
    assert response.status_code == 200, response.text
    reset = response.json()
    assert reset["workflow_id"] == workflow_id and reset["new_run_id"] != first_run

    async def running_again():
        description = await handle.describe()
        return description.run_id == reset["new_run_id"] and (await handle.query(SignalWorkflow.state)).owners == ["lee", "alex"]

    await eventually(running_again)
    ack = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("lee"))
    assert ack.status_code == 200, ack.text
    with Session(get_engine()) as session:
        audit = session.exec(select(OpsAuditRow).where(OpsAuditRow.workflow_id == workflow_id)).all()
        assert [(a.actor_id, a.action, a.reason, a.new_run_id) for a in audit] == [
            ("olga", "reset", "re-run after the notification fix", reset["new_run_id"])]
