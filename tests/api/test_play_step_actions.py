"""A play step's automated action (Renewal Save logs the executive sponsor meeting to the CRM): when its activity
gives up, the step is `failed` and the run waits there, still running, until ops retries it (issue 5)."""

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace

import httpx
import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

from activities.play_actions import StepActionActivities
from cli import app
from core.db import get_engine
from core.errors import PillarError
from core.settings import Settings, get_settings
from core.temporal import run_update
from models.plays import ExitInput, PlayRunIn, RunStatus, StepActionRequest, StepRetryInput, StepStatus
from models.signals import SignalStatus
from models.tables import OpsAuditRow, PlayRunRow
from services.plays import list_play_runs, play_handle, start_play_run
from tests.support.db import actor
from tests.support.histories import WORKFLOW_TASK_EVENTS, record_history
from tests.support.http import assert_error
from tests.support.plays import FIELDS, BuggyStepActions, complete, play_idle, renewal_save_from_a_critical_signal, worker_on
from tests.support.waiting import eventually
from workflows import search_attributes as sa
from workflows.play import PlayWorkflow

CRM_DOWN = 503


@pytest.fixture
def crm():
    """A CRM webhook (CRM_WEBHOOK_URL) that answers `crm.status` and keeps every request it got."""
    crm = SimpleNamespace(status=201, received=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            crm.received.append({"key": self.headers["Idempotency-Key"], "body": body, "answered": crm.status})
            self.send_response(crm.status)
            self.end_headers()
            self.wfile.write(b"CRM under maintenance" if crm.status >= 400 else b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    saved = os.environ.get("CRM_WEBHOOK_URL")
    os.environ["CRM_WEBHOOK_URL"] = f"http://127.0.0.1:{server.server_port}/crm/activities"
    get_settings.cache_clear()
    yield crm
    server.shutdown()
    if saved is None:
        os.environ.pop("CRM_WEBHOOK_URL", None)
    else:
        os.environ["CRM_WEBHOOK_URL"] = saved
    get_settings.cache_clear()


def steps(run) -> dict:
    return {s.key: s for s in run.steps}


# --- the real activity -------------------------------------------------------------------------------------------


def action_request(key="run-1:exec_sponsor") -> StepActionRequest:
    return StepActionRequest(key=key, action="log_to_crm", run_id="run-1", play_key="renewal_save", play_name="Renewal Save",
                             account_id="acme", account_name="Acme University", step_key="exec_sponsor",
                             step_title="Engage an executive sponsor", completed_by="lee",
                             completed_at=datetime(2027, 1, 12, tzinfo=UTC), fields=FIELDS["exec_sponsor"])


async def test_log_to_crm_posts_the_step_once_per_run_and_step_key(crm):
    env = ActivityEnvironment()
    async with httpx.AsyncClient() as http:
        log_step_to_crm = StepActionActivities(http, get_settings).log_step_to_crm
        first = await env.run(log_step_to_crm, action_request())
        again = await env.run(log_step_to_crm, action_request())  # a retry of the same step sends the same key
        assert first.detail == again.detail == "logged to the CRM (201)"
        assert [r["key"] for r in crm.received] == ["run-1:exec_sponsor"] * 2
        entry = crm.received[0]["body"]
        assert entry["fields"] == FIELDS["exec_sponsor"] and entry["account_id"] == "acme" and entry["completed_by"] == "lee"
        assert entry["step_key"] == "exec_sponsor" and entry["play_key"] == "renewal_save" and "action" not in entry

        crm.status = 422  # a refusal will not mend itself on a retry: give up at once
        with pytest.raises(ApplicationError) as refused:
            await env.run(log_step_to_crm, action_request())
        assert refused.value.non_retryable and refused.value.type == "CrmRefused" and "422" in refused.value.message
        crm.status = CRM_DOWN
        with pytest.raises(ApplicationError) as down:
            await env.run(log_step_to_crm, action_request())
        assert not down.value.non_retryable and "503: CRM under maintenance" in down.value.message


async def test_log_to_crm_without_a_configured_crm_sends_nothing_and_says_so():
    no_crm = StepActionActivities(http=None, settings=lambda: Settings(crm_webhook_url=None))
    result = await ActivityEnvironment().run(no_crm.log_step_to_crm, action_request())
    assert result.detail == "not sent: no CRM is configured (CRM_WEBHOOK_URL)"


# --- on the time-skipping server ----------------------------------------------------------------------------------


async def test_a_failed_action_holds_the_run_at_its_step_and_an_ops_retry_finishes_the_play(ts_env, ts_worker, crm):
    signal, task, play = await renewal_save_from_a_critical_signal(ts_env.client)
    casey, lee, alex, olga = actor("casey", "csm"), actor("lee", "csm_lead"), actor("alex", "ae"), actor("olga", "ops")
    run_id = task.play_run_id
    await complete(play, "diagnose", casey)

    crm.status = CRM_DOWN
    await complete(play, "exec_sponsor", lee)  # answers once the action has given up
    run = await play.query(PlayWorkflow.state)  # the answer leaves the fields and the timeline to a query
    failed = steps(run)["exec_sponsor"]
    assert failed.status == StepStatus.failed and failed.completed_by == "lee" and failed.fields == FIELDS["exec_sponsor"]
    assert failed.failure.activity_type == "log_step_to_crm" and failed.failure.error_type == "CrmUnavailable"
    assert failed.failure.attempts == 3 and "503: CRM under maintenance" in failed.failure.message
    assert run.status == RunStatus.running and steps(run)["save_plan"].status == StepStatus.ready  # the other branch goes on
    assert run.stuck.step_key == "exec_sponsor" and run.stuck.owner_id == "lee" and run.stuck.failure == failed.failure
    assert [r["answered"] for r in crm.received] == [CRM_DOWN] * 3
    assert {r["key"] for r in crm.received} == {f"{run_id}:exec_sponsor"}
    timeline = [(e.type, e.detail) for e in run.timeline]
    assert ("step_failed", f"exec_sponsor: log_step_to_crm gave up after 3 attempts: {failed.failure.message}") in timeline
    assert not any(t == "step_done" and d.startswith("exec_sponsor") for t, d in timeline)

    # ops can find it: the read model (the stuck view), the search attributes and the memo
    with Session(get_engine()) as session:
        row = session.get(PlayRunRow, run_id)
        assert row.status == "running" and row.stuck_step_key == "exec_sponsor" and "exec_sponsor" in row.current_steps
        listed = next(r for r in list_play_runs(session, stuck=True).items if r.id == run_id)
        assert listed.stuck.step_key == "exec_sponsor" and listed.stuck.failure.activity_type == "log_step_to_crm"
    description = await play.describe()
    assert description.typed_search_attributes.get(sa.FAILED_STEPS) == ["exec_sponsor"]
    assert description.typed_search_attributes.get(sa.STUCK) is True
    assert (await description.memo())["failed_steps"]["exec_sponsor"]["message"] == failed.failure.message

    # its owner cannot complete it again, and days later the run is still there, still running, still held
    with pytest.raises(PillarError) as again:
        await complete(play, "exec_sponsor", lee)
    assert again.value.code == "conflict" and "ops must retry it" in again.value.message
    await ts_env.sleep(timedelta(days=3))
    held = await play.query(PlayWorkflow.state)
    assert held.status == RunStatus.running and steps(held)["exec_sponsor"].status == StepStatus.failed

    # `pillar ops retry` while the CRM is still down: it fails again, says so, and the step keeps the new failure
    cli = await asyncio.to_thread(CliRunner().invoke, app, ["ops", "retry", play.id, "exec_sponsor", "--reason", "try now"])
    assert cli.exit_code == 1 and "exec_sponsor failed again in log_step_to_crm" in cli.output, cli.output
    still = steps(await play.query(PlayWorkflow.state))["exec_sponsor"]
    assert still.status == StepStatus.failed and still.failure.at > failed.failure.at and len(crm.received) == 6
    cli = await asyncio.to_thread(CliRunner().invoke, app, ["ops", "retry", play.id, "diagnose"])
    assert cli.exit_code == 2 and "is done, not failed" in cli.output, cli.output
    with Session(get_engine()) as session:
        audit = session.exec(select(OpsAuditRow).where(OpsAuditRow.workflow_id == play.id)).all()
        assert [(a.actor_id.startswith("cli:"), a.action) for a in audit] == [(True, "retry_step")]
        assert audit[0].reason.startswith("exec_sponsor: try now (failed again: the CRM answered 503")

    crm.status = 201  # the CRM is back
    await run_update(play, PlayWorkflow.retry_step, StepRetryInput(step_key="exec_sponsor", actor=olga,
                                                                   reason="CRM maintenance over"))
    retried = await play.query(PlayWorkflow.state)
    done = steps(retried)["exec_sponsor"]
    assert done.status == StepStatus.done and done.failure is None and done.completed_by == "lee"
    assert crm.received[-1]["answered"] == 201 and crm.received[-1]["key"] == f"{run_id}:exec_sponsor"
    types = [e.type for e in retried.timeline]
    assert types[-3:] == ["step_retried", "step_action", "step_done"] and retried.timeline[-3].actor == "olga"
    assert "CRM maintenance over" in retried.timeline[-3].detail
    description = await play.describe()
    assert description.typed_search_attributes.get(sa.FAILED_STEPS) is None
    assert "failed_steps" not in await description.memo()

    await complete(play, "save_plan", casey)
    await complete(play, "commercial_offer", alex)
    await complete(play, "renewal_decision", casey)
    await run_update(play, PlayWorkflow.exit, ExitInput(outcome="renewed", actor=casey))
    finished = await play.result()
    assert finished.status == RunStatus.completed and all(s.status == StepStatus.done for s in finished.steps)
    assert (await signal.result()).status == SignalStatus.resolved
    await record_history(play, "play_step_failed_then_retried")
    await record_history(play, "play_step_failed_then_retried_on_the_ladder")


async def test_a_retry_that_is_not_ops_or_of_a_step_that_has_not_failed_is_refused_without_a_trace(ts_env, ts_worker):
    with Session(get_engine()) as session:
        created = await start_play_run(session, ts_env.client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee")
    play = play_handle(ts_env.client, created.id)
    await ts_env.sleep(timedelta(hours=1))
    before_run = await play.query(PlayWorkflow.state)
    before = len((await play.fetch_history()).events)

    async def refused(step_key, who):
        with pytest.raises(PillarError) as error:
            await run_update(play, PlayWorkflow.retry_step, StepRetryInput(step_key=step_key, actor=who))
        return error.value

    olga = actor("olga", "ops")
    error = await refused("diagnose", olga)
    assert error.code == "conflict" and "is ready, not failed" in error.message
    error = await refused("exec_sponsor", olga)
    assert error.code == "conflict" and "is blocked, not failed" in error.message
    assert (await refused("nope", olga)).code == "not_found"
    for who in (actor("casey", "csm"), actor("maya", "manager")):
        error = await refused("diagnose", who)
        assert error.code == "forbidden" and "ops" in error.message
    new_events = (await play.fetch_history()).events[before:]
    assert all(e.event_type in WORKFLOW_TASK_EVENTS for e in new_events)
    assert await play.query(PlayWorkflow.state) == before_run


# --- end to end, on the dev server through the API --------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="session")
async def test_ops_finds_a_failed_step_through_the_api_fixes_the_bug_and_retries_it(api, own_task_queue):
    http = api.http
    async with worker_on(api.client, own_task_queue, BuggyStepActions):  # the bug is deployed
        response = await http.post("/api/v1/play-runs", json={"play_key": "renewal_save", "account_id": "acme"},
                                   headers=api.auth("casey"))
        assert response.status_code == 201, response.text
        run_id, workflow_id = response.json()["id"], response.json()["workflow_id"]
        run_url = f"/api/v1/play-runs/{run_id}"
        handle = play_handle(api.client, run_id)
        done = await http.post(f"{run_url}/steps/diagnose/complete", json={"fields": FIELDS["diagnose"]}, headers=api.auth("casey"))
        assert done.status_code == 200, done.text
        response = await http.post(f"{run_url}/steps/exec_sponsor/complete", json={"fields": FIELDS["exec_sponsor"]},
                                   headers=api.auth("lee"))
        assert response.status_code == 200, response.text
        assert {s["key"]: s["status"] for s in response.json()["steps"]}["exec_sponsor"] == "failed"

        run = (await http.get(run_url, headers=api.auth("maya"))).json()
        step = {s["key"]: s for s in run["steps"]}["exec_sponsor"]
        assert run["status"] == "running" and step["status"] == "failed" and step["action"] == "log_to_crm"
        assert step["failure"]["activity_type"] == "log_step_to_crm" and step["failure"]["error_type"] == "KeyError"
        assert "sponsor_title" in step["failure"]["message"] and step["failure"]["attempts"] == 3
        assert run["stuck"]["step_key"] == "exec_sponsor" and run["stuck"]["failure"] == step["failure"]

        async def listed_for_ops():
            response = await http.get("/api/v1/ops/executions", params={"failed_steps": "true", "workflow_type": "PlayWorkflow"},
                                      headers=api.auth("olga"))
            assert response.status_code == 200, response.text
            return next((e for e in response.json() if e["workflow_id"] == workflow_id), None)

        execution = await eventually(listed_for_ops)
        assert execution["status"] == "running" and execution["failed_step"] == "exec_sponsor"
        assert execution["failed_in"] == "log_step_to_crm" and execution["failure"] == step["failure"]["message"]
        cli = await asyncio.to_thread(CliRunner().invoke, app, ["ops", "list", "--failed-steps", "--type", "PlayWorkflow"])
        assert cli.exit_code == 0 and f"once fixed: pillar ops retry {workflow_id} exec_sponsor" in cli.output, cli.output
        assert f"{workflow_id}: step exec_sponsor failed in log_step_to_crm: {execution['failure']}" in cli.output

        async def in_stuck_view():
            rows = (await http.get("/api/v1/play-runs", params={"stuck": "true", "limit": 500}, headers=api.auth("maya"))).json()
            return next((r for r in rows if r["id"] == run_id), None)

        assert (await eventually(in_stuck_view))["stuck"]["failure"]["activity_type"] == "log_step_to_crm"

    async with worker_on(api.client, own_task_queue, StepActionActivities):  # the fix is deployed
        # refusals leave no event in the history: someone who is not ops, a step that has not failed, no such step
        await eventually(lambda: play_idle(handle))
        before = (await handle.fetch_history()).events
        retry = f"{run_url}/steps/exec_sponsor/retry"
        assert_error(await http.post(retry, headers=api.auth("lee")), 403, "forbidden")
        assert_error(await http.post(f"{run_url}/steps/diagnose/retry", headers=api.auth("olga")), 409, "conflict", "not failed")
        assert_error(await http.post(f"{run_url}/steps/nope/retry", headers=api.auth("olga")), 404, "not_found", "nope")
        assert (await handle.fetch_history()).events == before

        response = await http.post(retry, json={"reason": "sponsor_title fix deployed"}, headers=api.auth("olga"))
        assert response.status_code == 200, response.text
        run = response.json()
        steps_now = {s["key"]: s for s in run["steps"]}
        assert steps_now["exec_sponsor"]["status"] == "done" and steps_now["exec_sponsor"]["failure"] is None
        assert run["stuck"]["step_key"] == "save_plan" and run["stuck"]["failure"] is None
        assert await eventually(lambda: _not_listed(listed_for_ops))

        for key, who in [("save_plan", "casey"), ("commercial_offer", "alex"), ("renewal_decision", "casey")]:
            response = await http.post(f"{run_url}/steps/{key}/complete", json={"fields": FIELDS[key]}, headers=api.auth(who))
            assert response.status_code == 200, response.text
        response = await http.post(f"{run_url}/exit", json={"outcome": "renewed"}, headers=api.auth("casey"))
        assert response.status_code == 200 and response.json()["status"] == "completed"
        assert (await handle.result()).status == RunStatus.completed

    with Session(get_engine()) as session:
        audit = session.exec(select(OpsAuditRow).where(OpsAuditRow.workflow_id == workflow_id)).all()
        assert [(a.actor_id, a.action, a.reason) for a in audit] == [
            ("olga", "retry_step", "exec_sponsor: sponsor_title fix deployed (done)")]
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert "/api/v1/play-runs/{run_id}/steps/{step_key}/retry" in paths


async def _not_listed(listed) -> bool:
    return await listed() is None
