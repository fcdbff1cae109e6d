"""Seams 02 and 03 through the HTTP API on the dev server: candidates, tasks and outcomes, play runs, their
refusals (each leaving the history untouched), and the manager's list."""

import pytest
from sqlmodel import Session
from temporalio import client
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig, RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from core.db import get_engine
from core.errors import PillarError
from core.settings import get_settings
from core.temporal import find_binary, set_temporal_client, update_signing
from models.plays import PlayRunIn
from services.plays import play_handle, start_play_run
from services.signals import signal_handle
from tests.support.http import assert_error, post_signal, unique
from tests.support.histories import record_history
from tests.support.plays import FIELDS, play_idle
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def acknowledged_signal(api, family="renewal_risk", severity="critical", who="lee", account_id="acme"):
    created = (await post_signal(api, family=family, severity=severity, account_id=account_id)).json()
    ack = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth(who))
    assert ack.status_code == 200, ack.text
    return created, ack.json()


async def test_the_play_library_is_served(api):
    plays = (await api.http.get("/api/v1/plays", headers=api.auth("casey"))).json()
    save = next(p for p in plays if p["key"] == "renewal_save")
    assert len(plays) == 6 and save["version"] == 2 and "renewal_risk" in save["entry"]["families"]
    assert [s["key"] for s in save["steps"]][0] == "diagnose" and save["steps"][0]["due"] == "P2D"
    assert save["steps"][4]["depends_on"] == ["exec_sponsor", "commercial_offer"]


async def test_acknowledging_offers_three_candidates_and_a_task_takes_an_outcome(api):
    created = (await post_signal(api, family="nps_decline", severity="info")).json()  # acme: enterprise, owner casey
    early = await api.http.post(f"/api/v1/signals/{created['id']}/tasks", json={"template_key": "nps_follow_up"},
                                headers=api.auth("casey"))
    assert_error(early, 409, "conflict", "acknowledge")
    ack = (await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("casey"))).json()
    assert [c["template_key"] for c in ack["task_candidates"]] == ["nps_exec_note", "nps_follow_up", "nps_root_cause"]

    response = await api.http.post(f"/api/v1/signals/{created['id']}/tasks", json={"template_key": "nps_follow_up"},
                                   headers=api.auth("casey"))
    assert response.status_code == 201, response.text
    task = response.json()
    assert {"id", "signal_id", "title", "owner_id", "due_at", "outcome"} <= set(task)
    assert task["owner_id"] == "casey" and task["outcome"] is None and task["signal_id"] == created["id"]

    async def listed():
        rows = (await api.http.get("/api/v1/tasks", params={"owner_id": "casey", "open": "true"}, headers=api.auth("casey"))).json()
        return [r for r in rows if r["id"] == task["id"]]

    assert await eventually(listed)
    url = f"/api/v1/tasks/{task['id']}/outcome"
    assert_error(await api.http.post(url, json={"outcome": "done"}, headers=api.auth("casey")), 422, "invalid",
                 "renewed, churned, expanded, lost, reassigned, blocked_waiting_on")
    assert_error(await api.http.post(url, json={"outcome": "blocked_waiting_on"}, headers=api.auth("casey")), 422, "invalid", "blocked_on")
    assert_error(await api.http.post(url, json={"outcome": "renewed"}, headers=api.auth("sky")), 403, "forbidden")
    assert (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("casey"))).json()["tasks"][0]["outcome"] is None

    done = await api.http.post(url, json={"outcome": "renewed", "note": "called back"}, headers=api.auth("casey"))
    assert done.status_code == 200 and done.json()["outcome"] == "renewed"
    assert await eventually(lambda: _status_is(api, created["id"], "resolved"))
    assert await eventually(lambda: _not_listed(listed))


async def _status_is(api, signal_id, status):
    return (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("maya"))).json()["status"] == status


async def _not_listed(listed):
    return await listed() == []


async def test_a_play_run_through_the_api_with_every_refusal_leaving_no_trace(api):
    signal, ack = await acknowledged_signal(api)
    assert "renewal_save_play" in [c["template_key"] for c in ack["task_candidates"]]
    wrong = (await post_signal(api, family="expansion_trigger", severity="warning")).json()
    body = {"play_key": "renewal_save", "account_id": "acme", "signal_id": wrong["id"]}
    assert_error(await api.http.post("/api/v1/play-runs", json=body, headers=api.auth("casey")), 422, "invalid",
                 "expansion_trigger", "renewal_risk")
    assert_error(await api.http.post("/api/v1/play-runs", json={**body, "play_key": "nope"}, headers=api.auth("casey")),
                 422, "invalid", "no play 'nope'")

    response = await api.http.post("/api/v1/play-runs", json={**body, "signal_id": signal["id"]}, headers=api.auth("casey"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {"id": created["id"], "workflow_id": f"play-{created['id']}", "play_key": "renewal_save",
                       "play_version": 2, "status": "running"}
    run_url = f"/api/v1/play-runs/{created['id']}"
    handle = play_handle(api.client, created["id"])
    await eventually(lambda: play_idle(handle))
    before = (await handle.fetch_history()).events

    complete = f"{run_url}/steps/save_plan/complete"
    assert_error(await api.http.post(complete, json={"fields": FIELDS["save_plan"]}, headers=api.auth("casey")), 409, "conflict", "diagnose")
    diagnose = f"{run_url}/steps/diagnose/complete"
    missing = assert_error(await api.http.post(diagnose, json={"fields": {"root_cause": "x"}}, headers=api.auth("casey")),
                           422, "invalid", "health_evidence")
    assert missing["details"] == {"missing_fields": ["health_evidence"]}
    blank = {**FIELDS["diagnose"], "health_evidence": "   "}  # whitespace is missing, as in a handoff
    blank_refused = assert_error(await api.http.post(diagnose, json={"fields": blank}, headers=api.auth("casey")),
                                 422, "invalid", "health_evidence")
    assert blank_refused["details"] == {"missing_fields": ["health_evidence"]}
    assert_error(await api.http.post(diagnose, json={"fields": FIELDS["diagnose"]}, headers=api.auth("alex")), 403, "forbidden")
    bad_exit = assert_error(await api.http.post(f"{run_url}/exit", json={"outcome": "done"}, headers=api.auth("casey")),
                            422, "invalid", "renewed, churned, expanded")
    assert bad_exit["details"] == {"valid_outcomes": ["renewed", "churned", "expanded"]}
    assert (await handle.fetch_history()).events == before

    done = await api.http.post(diagnose, json={"fields": FIELDS["diagnose"]}, headers=api.auth("casey"))
    assert done.status_code == 200, done.text
    steps = {s["key"]: s for s in done.json()["steps"]}
    assert steps["diagnose"]["status"] == "done" and steps["diagnose"]["completed_by"] == "casey"
    assert steps["save_plan"]["status"] == "ready" and steps["exec_sponsor"]["owner_id"] == "lee"
    run = (await api.http.get(run_url, headers=api.auth("maya"))).json()
    assert run["stuck"]["step_key"] in ("exec_sponsor", "save_plan") and run["stuck"]["overdue_seconds"] == 0

    async def listed():
        rows = (await api.http.get("/api/v1/play-runs", params={"status": "running", "owner_id": "alex", "play_key": "renewal_save"},
                                   headers=api.auth("maya"))).json()
        row = next((r for r in rows if r["id"] == created["id"]), None)
        return row if row and set(row["current_steps"]) == {"exec_sponsor", "save_plan"} else None

    row = await eventually(listed)
    assert row["stuck"]["owner_id"] in ("lee", "casey") and row["account_id"] == "acme"
    ended = await api.http.post(f"{run_url}/exit", json={"outcome": "churned", "note": "lost to a competitor"}, headers=api.auth("maya"))
    assert ended.status_code == 200 and ended.json()["status"] == "completed" and ended.json()["stuck"] is None
    assert_error(await api.http.post(f"{run_url}/exit", json={"outcome": "renewed"}, headers=api.auth("casey")), 409, "conflict")
    assert_error(await api.http.get("/api/v1/play-runs/run-missing", headers=api.auth("maya")), 404, "not_found")


async def test_a_task_template_with_a_play_starts_it_linked_to_the_signal(api):
    signal, _ = await acknowledged_signal(api)
    response = await api.http.post(f"/api/v1/signals/{signal['id']}/tasks", json={"template_key": "renewal_save_play"},
                                   headers=api.auth("lee"))
    assert response.status_code == 201, response.text
    task = response.json()
    run = (await api.http.get(f"/api/v1/play-runs/{task['play_run_id']}", headers=api.auth("lee"))).json()
    assert run["signal_id"] == signal["id"] and run["task_id"] == task["id"] and run["status"] == "running"
    ended = await api.http.post(f"/api/v1/play-runs/{task['play_run_id']}/exit", json={"outcome": "expanded"}, headers=api.auth("casey"))
    assert ended.status_code == 200
    assert await eventually(lambda: _status_is(api, signal["id"], "resolved"))
    detail = (await api.http.get(f"/api/v1/signals/{signal['id']}", headers=api.auth("lee"))).json()
    assert detail["tasks"][0]["outcome"] == "expanded"


async def test_the_board_filters_runs_by_the_account_motion(api):
    started = {}
    for account_id in ("acme", "globex"):  # academic, credentialed
        response = await api.http.post("/api/v1/play-runs", json={"play_key": "expansion", "account_id": account_id},
                                       headers=api.auth("maya"))
        assert response.status_code == 201, response.text
        started[account_id] = response.json()["id"]

    async def listed(motion):
        rows = (await api.http.get("/api/v1/play-runs", params={"status": "running", "motion": motion},
                                   headers=api.auth("maya"))).json()
        return {r["id"] for r in rows} & set(started.values())

    assert await eventually(lambda: _equals(listed("credentialed"), {started["globex"]}))
    assert await listed("academic") == {started["acme"]}
    for run_id in started.values():
        await api.http.post(f"/api/v1/play-runs/{run_id}/exit", json={"outcome": "lost"}, headers=api.auth("maya"))


async def _equals(result, expected) -> bool:
    return await result == expected


async def test_only_a_signal_that_does_not_exist_is_an_unknown_signal(api):
    """A linked signal Temporal has never heard of is the caller's mistake (422); one that exists but cannot be read
    now (no worker answers its query, no read-model row yet) is the service's (503), and no run starts."""
    body = {"play_key": "renewal_save", "account_id": "acme"}
    missing = unique("sig-none")
    assert_error(await api.http.post("/api/v1/play-runs", json={**body, "signal_id": missing}, headers=api.auth("casey")),
                 422, "invalid", f"unknown signal {missing!r}")

    unread = unique("sig-unread")  # its workflow's queue has no worker, and no activity has written its row
    handle = await api.client.start_workflow("SignalWorkflow", {"id": unread}, id=f"signal-{unread}", task_queue=unique("unpolled"))
    try:
        before = await api.http.get("/api/v1/play-runs", params={"account_id": "acme"}, headers=api.auth("maya"))
        response = await api.http.post("/api/v1/play-runs", json={**body, "signal_id": unread}, headers=api.auth("casey"))
        assert_error(response, 503, "unavailable", f"signal-{unread}")
        after = await api.http.get("/api/v1/play-runs", params={"account_id": "acme"}, headers=api.auth("maya"))
        assert after.json() == before.json()
    finally:
        await handle.terminate("test over")


async def test_temporal_unreachable_while_reading_the_linked_signal_is_not_an_unknown_signal(sqlite_db):
    """Temporal being unreachable (and no stored state to fall back on) is a 503 `unavailable`, not a 422."""
    server = await WorkflowEnvironment.start_local(dev_server_existing_path=find_binary("temporal"))
    unreachable = await Client.connect(server.client.service_client.config.target_host, retry_config=RetryConfig(max_retries=1))
    await server.shutdown()  # connected, then Temporal goes away
    with Session(get_engine()) as session, pytest.raises(PillarError) as raised:
        await start_play_run(session, unreachable, PlayRunIn(play_key="renewal_save", account_id="acme", signal_id="sig-1"), "casey")
    assert raised.value.code == "unavailable"


class _NoPlayStarts(client.Interceptor):
    """The API's view of Temporal refusing to start a play (an outage between recording the task and starting its
    play): every other call goes through."""

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        class Refusing(client.OutboundInterceptor):
            async def start_workflow(self, input: client.StartWorkflowInput):
                if input.workflow == "PlayWorkflow":
                    raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")
                return await super().start_workflow(input)

        return Refusing(next)


async def test_a_task_that_names_a_play_starts_it_once_even_when_the_api_cannot_reach_temporal_after(api):
    """The play starts from the signal's workflow, under the run id the task records (issue 14, item 4): before, the
    API recorded the task and then started the play itself, and an error in between left a task with no run."""
    signal, _ = await acknowledged_signal(api)
    flaky = Client(api.client.service_client, namespace=api.client.namespace, data_converter=pydantic_data_converter,
                          interceptors=update_signing(get_settings()) + [_NoPlayStarts()])
    set_temporal_client(flaky)
    try:
        response = await api.http.post(f"/api/v1/signals/{signal['id']}/tasks", json={"template_key": "renewal_save_play"},
                                       headers=api.auth("lee"))
    finally:
        set_temporal_client(api.client)
    assert response.status_code == 201, response.text
    run_id = response.json()["play_run_id"]
    run = await eventually(lambda: _run_of(api, run_id))
    assert run["task_id"] == response.json()["id"] and run["status"] == "running"
    started = [w async for w in api.client.list_workflows(f"WorkflowId = 'play-{run_id}'")]
    assert len(started) <= 1
    await record_history(signal_handle(api.client, signal["id"]), "signal_task_started_its_play")


async def _run_of(api, run_id: str) -> dict | None:
    response = await api.http.get(f"/api/v1/play-runs/{run_id}", headers=api.auth("lee"))
    return response.json() if response.status_code == 200 else None
