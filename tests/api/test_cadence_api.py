"""Layer IV through the HTTP API on a real Temporal dev server and worker: the rituals config and the Schedules it
syncs (firing at the times `build_times` computes), agendas as JSON and HTML, action items, the completion rate,
the flywheel's proposals and the assessment — with their refusals and error shapes."""

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from temporalio.client import ScheduleBackfill, ScheduleOverlapPolicy, ScheduleUpdate, WorkflowExecutionStatus

from core.db import get_engine
from models.rituals import RitualsConfigIn
from services.rituals import (
    DEFAULT_RITUALS,
    FLYWHEEL_SCHEDULE_ID,
    agenda_id_for,
    build_times,
    current_rituals,
    ensure_schedules,
    flywheel_times,
    meeting_for,
    schedule_id,
)
from tests.support.flywheel import a_proposal_to_lower_the_critical_tier
from tests.support.http import assert_error
from tests.support.rituals import WEEKLY_RITUALS, enable_rituals, triggered_agenda
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")
# The shipped rituals with the weekly five switched on (the shipped config runs Monday triage only: the rollout)
DEFAULTS = RitualsConfigIn.model_validate(DEFAULT_RITUALS).model_dump(mode="json")
for _ritual in DEFAULTS["rituals"]:
    _ritual["enabled"] = _ritual["enabled"] or _ritual["key"] in WEEKLY_RITUALS


async def put_rituals(api, body: dict, as_user: str = "rory"):
    return await api.http.put("/api/v1/config/rituals", json=body, headers=api.auth(as_user))


async def next_fires(api, sid: str) -> list[datetime]:
    description = await api.client.get_schedule_handle(sid).describe()
    return description.info.next_action_times


async def test_the_rituals_config_syncs_one_schedule_per_ritual_and_motion(api):
    changed = json.loads(json.dumps(DEFAULTS))
    triage = changed["rituals"][0]
    triage.update(time="08:30", timezone="Europe/Paris", lead="PT2H")
    changed["rituals"] = [r for r in changed["rituals"] if r["key"] != "forecast_call"]
    next(r for r in changed["rituals"] if r["key"] == "retro")["motions"] = ["academic"]

    assert_error(await put_rituals(api, changed, "casey"), 403, "forbidden", "revops")
    bad = json.loads(json.dumps(changed))
    bad["rituals"][0]["timezone"] = "Mars/Olympus"
    error = assert_error(await put_rituals(api, bad), 422, "invalid", "IANA time zone")
    assert error["details"][0]["field"] == "rituals.0.timezone"
    before = (await api.http.get("/api/v1/config/rituals", headers=api.auth("casey"))).json()["version"]

    full = await put_rituals(api, DEFAULTS)
    assert full.status_code == 200, full.text
    ids = {c["schedule_id"] for c in full.json()["schedules"]}
    assert ids == {schedule_id(r["key"], m) for r in DEFAULTS["rituals"] if r.get("enabled", True) for m in r["motions"]} | {FLYWHEEL_SCHEDULE_ID}
    assert full.json()["version"] == before + 1 and full.json()["schedules_error"] is None

    narrowed = await put_rituals(api, changed)
    actions = {c["schedule_id"]: c["action"] for c in narrowed.json()["schedules"]}
    assert {k for k, v in actions.items() if v == "deleted"} == {
        "ritual-forecast_call-academic", "ritual-forecast_call-credentialed", "ritual-retro-credentialed"}
    assert actions["ritual-signal_triage-academic"] == "updated"
    paris = RitualsConfigIn.model_validate(changed).ritual("signal_triage")
    now = datetime.now(UTC)
    fires = await next_fires(api, "ritual-signal_triage-academic")
    assert fires[:3] == build_times(paris, now, now + timedelta(weeks=4))[:3]
    assert all(f.astimezone(ZoneInfo("Europe/Paris")).strftime("%a %H:%M") == "Mon 06:30" for f in fires[:3])
    version = narrowed.json()["version"]
    assert (await api.http.get(f"/api/v1/config/rituals/{version}", headers=api.auth("casey"))).json()["rituals"][0]["timezone"] == "Europe/Paris"
    assert_error(await api.http.get("/api/v1/config/rituals/999", headers=api.auth("casey")), 404, "not_found", "999")

    # back to the defaults: every schedule fires exactly when the pure function says
    restored = await put_rituals(api, DEFAULTS)
    assert sorted(c["action"] for c in restored.json()["schedules"]).count("created") == 3
    defaults = RitualsConfigIn.model_validate(DEFAULTS)
    now = datetime.now(UTC)
    for ritual in (r for r in defaults.rituals if r.enabled):  # a ritual switched off has no schedule
        for motion in ritual.motions:
            assert (await next_fires(api, schedule_id(ritual.key, motion)))[:3] == build_times(ritual, now, now + timedelta(weeks=4))[:3]
    assert (await next_fires(api, FLYWHEEL_SCHEDULE_ID))[:2] == flywheel_times(defaults.flywheel, now, now + timedelta(days=70))[:2]
    description = await api.client.get_schedule_handle("ritual-retro-academic").describe()
    assert description.schedule.action.workflow == "RitualWorkflow" and description.schedule.action.id == "ritual-retro-academic"
    assert description.schedule.policy.overlap.name == "CANCEL_OTHER"  # last week's run hands over, then this week's starts

    # what the worker runs on start: converges on the config in force, creating nothing that exists, twice over
    for _ in range(2):
        with Session(get_engine()) as session:
            changes = await ensure_schedules(session, api.client)
        assert {c.action for c in changes} == {"updated"} and len(changes) == 11

    listed = await api.http.get("/api/v1/rituals", headers=api.auth("casey"))
    triage_view = listed.json()["rituals"][0]
    assert [s["schedule_id"] for s in triage_view["segments"]] == ["ritual-signal_triage-academic", "ritual-signal_triage-credentialed"]
    assert triage_view["segments"][0]["next_build_at"] == build_times(defaults.rituals[0], now, now + timedelta(weeks=1))[0].isoformat().replace("+00:00", "Z")


async def test_the_worker_start_moves_existing_ritual_schedules_to_cancel_other(api):
    """Schedules created before the hand-over (ALLOW_ALL: runs piled up) get the policy when the worker starts."""
    enable_rituals("retro")
    with Session(get_engine()) as session:
        await ensure_schedules(session, api.client)
    sid = schedule_id("retro", "academic")
    handle = api.client.get_schedule_handle(sid)

    def allow_all(previous):
        previous.description.schedule.policy.overlap = ScheduleOverlapPolicy.ALLOW_ALL
        return ScheduleUpdate(schedule=previous.description.schedule)

    await handle.update(allow_all)
    assert (await handle.describe()).schedule.policy.overlap == ScheduleOverlapPolicy.ALLOW_ALL
    with Session(get_engine()) as session:
        changes = await ensure_schedules(session, api.client)
    assert {c.action for c in changes if c.schedule_id == sid} == {"updated"}
    assert (await handle.describe()).schedule.policy.overlap == ScheduleOverlapPolicy.CANCEL_OTHER


async def test_a_schedule_firing_starts_the_ritual_run_that_builds_the_agenda(api):
    enable_rituals("at_risk_review")
    with Session(get_engine()) as session:
        await ensure_schedules(session, api.client)
    sid = schedule_id("at_risk_review", "credentialed")
    await api.client.get_schedule_handle(sid).trigger()  # what the calendar does on Thursday at 13:00 New York time

    async def built():
        rows = (await api.http.get("/api/v1/rituals/at_risk_review/agendas", params={"motion": "credentialed"},
                                   headers=api.auth("maya"))).json()
        return [a for a in rows if a["source"] == "workflow"]

    summary = (await eventually(built, timeout=30))[0]
    agenda = (await api.http.get(f"/api/v1/agendas/{summary['id']}", headers=api.auth("maya"))).json()
    assert agenda["workflow_id"].startswith(f"{sid}-20")  # the schedule's action id plus its nominal time
    description = await api.client.get_schedule_handle(sid).describe()
    nominal = description.info.recent_actions[-1].scheduled_at
    assert agenda["meeting_at"] == (nominal.replace(microsecond=0) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")


async def test_the_schedule_hands_last_weeks_open_items_over_to_this_weeks_run(api):
    """CANCEL_OTHER on a real schedule: firing again cancels last week's run, which releases its open item and
    completes; this week's run, started once it has closed, takes the item over."""
    enable_rituals("forecast_call")
    with Session(get_engine()) as session:
        await ensure_schedules(session, api.client)
        ritual = current_rituals(session).ritual("forecast_call")
    sid, now = schedule_id("forecast_call", "credentialed"), datetime.now(UTC)
    last_fire = build_times(ritual, now - timedelta(days=7), now)[-1]
    schedule = api.client.get_schedule_handle(sid)
    await schedule.backfill(ScheduleBackfill(start_at=last_fire - timedelta(seconds=1), end_at=last_fire + timedelta(seconds=1)))
    last_week = agenda_id_for("forecast_call", "credentialed", meeting_for(ritual, last_fire))

    async def built(agenda_id):
        response = await api.http.get(f"/api/v1/agendas/{agenda_id}", headers=api.auth("maya"))
        return response.json() if response.status_code == 200 else None

    first = await eventually(lambda: built(last_week), timeout=30)
    added = await api.http.post(f"/api/v1/agendas/{last_week}/action-items", headers=api.auth("maya"),
                                json={"title": "Evidence for the Globex commit", "owner_id": "alex"})
    assert added.status_code == 201, added.text
    item_id = added.json()["id"]

    await schedule.trigger()  # this week's firing

    async def taken():
        item = (await api.http.get(f"/api/v1/action-items/{item_id}", headers=api.auth("maya"))).json()
        holders = [c["to_agenda_id"] for c in item["carries"]]
        return item if holders and holders[-1] not in (None, last_week) else None

    item = await eventually(taken, timeout=30)
    assert (item["owner_id"], item["due_at"], item["outcome"]) == ("alex", added.json()["due_at"], None)
    assert (await api.client.get_workflow_handle(first["workflow_id"]).describe()).status == WorkflowExecutionStatus.COMPLETED
    this_week = await built(item["carries"][-1]["to_agenda_id"])
    assert this_week["workflow_id"].startswith(f"{sid}-20") and this_week["workflow_id"] != first["workflow_id"]
    assert [i["id"] for i in this_week["action_items"]] == [item_id]
    closed = await api.http.post(f"/api/v1/action-items/{item_id}/outcome", json={"outcome": "renewed"}, headers=api.auth("alex"))
    assert closed.status_code == 200 and closed.json()["outcome"] == "renewed"  # recorded by this week's run


async def test_agendas_and_action_items_over_http(api):
    for who, path, body, status, code in (
        ("casey", "/api/v1/rituals/signal_triage/trigger", {}, 403, "forbidden"),
        ("maya", "/api/v1/rituals/nope/trigger", {}, 404, "not_found"),
        ("maya", "/api/v1/rituals/signal_triage/trigger", {"motion": "corporate"}, 422, "invalid"),
    ):
        assert_error(await api.http.post(path, json=body, headers=api.auth(who)), status, code)
    agenda = await triggered_agenda(api, "signal_triage")
    agenda_id = agenda["id"]
    assert agenda["kind"] == "signal_triage" and agenda["motion"] == "academic" and agenda["status"] == "open"
    assert agenda["built_at"] < agenda["meeting_at"] and agenda["sections"][0]["key"] == "signals"
    assert (await api.http.get(f"/api/v1/agendas/{agenda_id}", headers=api.auth("casey"))).json()["id"] == agenda_id
    page = await api.http.get(f"/api/v1/agendas/{agenda_id}.html", headers=api.auth("casey"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Monday signal triage — academic" in page.text and "@media print" in page.text and "Ranking:" in page.text
    assert_error(await api.http.get("/api/v1/agendas/agd-nope", headers=api.auth("casey")), 404, "not_found", "agd-nope")
    assert_error(await api.http.get("/api/v1/agendas/agd-nope.html", headers=api.auth("casey")), 404, "not_found")
    assert_error(await api.http.get(f"/api/v1/agendas/{agenda_id}"), 401, "unauthorized")
    listed = (await api.http.get("/api/v1/agendas", params={"ritual_key": "signal_triage"}, headers=api.auth("casey"))).json()
    assert listed[0]["id"] == agenda_id and {"items", "open_action_items", "source"} <= set(listed[0])

    url = f"/api/v1/agendas/{agenda_id}/action-items"
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    created = await api.http.post(url, json={"title": "Call Acme's provost", "owner_id": "casey", "due_at": due}, headers=api.auth("maya"))
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["id"].startswith(f"{agenda_id}-a") and item["owner_id"] == "casey" and item["outcome"] is None and item["created_by"] == "maya"
    for body, words in (({"title": "x", "owner_id": "ghost"}, "ghost"), ({"title": " ", "owner_id": "casey"}, "title"),
                        ({"title": "x", "owner_id": "casey", "due_at": "2020-01-01T00:00:00Z"}, "not in the future"),
                        ({"title": "x", "owner_id": "casey", "due_at": "2030-01-01T00:00:00"}, "due_at")):
        assert_error(await api.http.post(url, json=body, headers=api.auth("maya")), 422, "invalid", words)
    assert_error(await api.http.post(url, json={"title": "x", "owner_id": "casey"}, headers=api.auth("sky")), 403, "forbidden")
    assert_error(await api.http.post("/api/v1/agendas/agd-nope/action-items", json={"title": "x", "owner_id": "casey"},
                                     headers=api.auth("maya")), 404, "not_found")
    seeded = (await api.http.get("/api/v1/rituals/signal_triage/agendas", params={"limit": 500}, headers=api.auth("maya"))).json()
    history = next(a for a in seeded if a["source"] == "seed")
    assert_error(await api.http.post(f"/api/v1/agendas/{history['id']}/action-items", json={"title": "x", "owner_id": "casey"},
                                     headers=api.auth("maya")), 409, "conflict", "imported history")

    outcome = f"/api/v1/action-items/{item['id']}/outcome"
    for bad in ("done", "follow up next week"):
        error = assert_error(await api.http.post(outcome, json={"outcome": bad}, headers=api.auth("casey")), 422, "invalid",
                             "valid outcomes are renewed, churned, expanded, lost, reassigned, blocked_waiting_on")
        assert error["details"][0]["field"] == "outcome"
    assert_error(await api.http.post(outcome, json={"outcome": "blocked_waiting_on"}, headers=api.auth("casey")), 422, "invalid", "blocked_on")
    assert_error(await api.http.post(outcome, json={"outcome": "renewed"}, headers=api.auth("sky")), 403, "forbidden")
    assert_error(await api.http.post("/api/v1/action-items/nope-a1/outcome", json={"outcome": "renewed"}, headers=api.auth("casey")),
                 404, "not_found")
    mine = (await api.http.get("/api/v1/action-items", params={"owner_id": "casey", "open": "true"}, headers=api.auth("casey"))).json()
    assert item["id"] in [i["id"] for i in mine]
    done = await api.http.post(outcome, json={"outcome": "renewed", "note": "provost agreed"}, headers=api.auth("casey"))
    assert done.status_code == 200 and done.json()["outcome"] == "renewed" and done.json()["outcome_by"] == "casey"
    assert_error(await api.http.post(outcome, json={"outcome": "lost"}, headers=api.auth("casey")), 409, "conflict", "final outcome renewed")
    mine = (await api.http.get("/api/v1/action-items", params={"owner_id": "casey", "open": "true"}, headers=api.auth("casey"))).json()
    assert item["id"] not in [i["id"] for i in mine]
    got = await api.http.get(f"/api/v1/action-items/{item['id']}", headers=api.auth("maya"))
    assert got.json()["outcome"] == "renewed"
    assert (await api.http.get(f"/api/v1/agendas/{agenda_id}", headers=api.auth("casey"))).json()["action_items"][0]["outcome"] == "renewed"

    metrics = await api.http.get("/api/v1/cadences/metrics", headers=api.auth("maya"))
    assert metrics.status_code == 200
    body = metrics.json()
    assert len(body["overall"]["weeks"]) == 8 and body["definition"] and [r["ritual_key"] for r in body["rituals"]][:1] == ["signal_triage"]
    this_week = body["rituals"][0]["weeks"][-1]
    assert this_week["created"] >= 1 and this_week["completed_on_time"] >= 1
    assert_error(await api.http.get("/api/v1/cadences/metrics", params={"weeks": 0}, headers=api.auth("maya")), 422, "invalid", "weeks")


class _AgendaHook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        _AgendaHook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


async def test_a_built_agenda_is_posted_to_the_rituals_webhook(api):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AgendaHook)
    Thread(target=server.serve_forever, daemon=True).start()
    hooked = json.loads(json.dumps(DEFAULTS))
    next(r for r in hooked["rituals"] if r["key"] == "retro")["webhook_url"] = f"http://127.0.0.1:{server.server_port}/agendas"
    try:
        assert (await put_rituals(api, hooked)).status_code == 200
        for who, shown in (("rory", f"http://127.0.0.1:{server.server_port}/agendas"), ("casey", "http://127.0.0.1/redacted")):
            config = (await api.http.get("/api/v1/config/rituals", headers=api.auth(who))).json()
            assert next(r for r in config["rituals"] if r["key"] == "retro")["webhook_url"] == shown
        agenda = await triggered_agenda(api, "retro", own=True)  # the run that builds it posts it
        posted = await eventually(lambda: [a for a in _AgendaHook.received if a["id"] == agenda["id"]], timeout=30)
        assert posted[0]["html_url"].endswith(f"/api/v1/agendas/{agenda['id']}.html")
        assert [s["key"] for s in posted[0]["sections"]] == ["fired", "resolved", "decayed", "carried_over"] and posted[0]["proposed_pattern"]
    finally:
        server.shutdown()
        await put_rituals(api, DEFAULTS)


async def test_flywheel_proposals_are_decided_by_revops_and_reversible(api):
    assert_error(await api.http.post("/api/v1/flywheel/run", headers=api.auth("casey")), 403, "forbidden")
    started = await api.http.post("/api/v1/flywheel/run", headers=api.auth("rory"))
    assert started.status_code == 202
    workflow_id = started.json()["workflow_id"]

    async def ran():
        proposals = (await api.http.get("/api/v1/flywheel/proposals", headers=api.auth("maya"))).json()
        return [p for p in proposals if p["workflow_id"] == workflow_id]

    run = (await eventually(ran, timeout=30))[0]
    assert run["status"] in ("no_change", "proposed") and run["evidence"]["bands"] and run["summary"]

    # a proposal waiting for a decision (as a month with enough outcomes leaves one)
    proposal_id, version, critical = a_proposal_to_lower_the_critical_tier("fly-api")
    base = f"/api/v1/flywheel/proposals/{proposal_id}"
    assert_error(await api.http.post(f"{base}/approve", headers=api.auth("casey")), 403, "forbidden", "revops")
    assert_error(await api.http.post(f"{base}/revert", json={"reason": "x"}, headers=api.auth("rory")), 409, "conflict", "proposed")
    approved = await api.http.post(f"{base}/approve", json={"note": "agreed in the forecast call"}, headers=api.auth("rory"))
    assert approved.status_code == 200, approved.text
    applied = approved.json()["applied_version"]
    assert approved.json()["status"] == "approved" and applied == version + 1 and approved.json()["decided_by"] == "rory"
    in_force = (await api.http.get("/api/v1/config/score-weights", headers=api.auth("casey"))).json()
    assert in_force["version"] == applied and in_force["renewal_risk"]["tiers"]["critical"] == critical - 5 and in_force["created_by"] == "rory"
    assert_error(await api.http.post(f"{base}/approve", headers=api.auth("rory")), 409, "conflict", "approved")
    assert_error(await api.http.post(f"{base}/revert", json={}, headers=api.auth("rory")), 422, "invalid", "reason")
    reverted = await api.http.post(f"{base}/revert", json={"reason": "too many false alarms"}, headers=api.auth("rory"))
    assert reverted.json()["status"] == "reverted" and reverted.json()["reverted_version"] == applied + 1
    assert (await api.http.get("/api/v1/config/score-weights", headers=api.auth("casey"))).json()["renewal_risk"]["tiers"]["critical"] == critical
    traced = (await api.http.get("/api/v1/flywheel/proposals", params={"config_version": applied}, headers=api.auth("casey"))).json()
    assert [p["id"] for p in traced] == [proposal_id]
    assert [h["action"] for h in traced[0]["history"]] == ["approved", "reverted"]
    assert_error(await api.http.post("/api/v1/flywheel/proposals/fly-nope/reject", json={"reason": "x"}, headers=api.auth("rory")), 404, "not_found")
    assert_error(await api.http.get("/api/v1/flywheel/proposals/fly-nope", headers=api.auth("rory")), 404, "not_found")


async def test_the_assessment_answers_fifteen_questions(api):
    assert_error(await api.http.get("/api/v1/assessment"), 401, "unauthorized")
    response = await api.http.get("/api/v1/assessment", headers=api.auth("casey"))
    assert response.status_code == 200
    body = response.json()
    assert [g["key"] for g in body["groups"]] == ["seam_01", "seam_02", "seam_03", "seam_04", "cadence", "multi_product", "flywheel"]
    questions = [q for g in body["groups"] for q in g["questions"]]
    assert len(questions) == body["total"] == 15 and all(q["answer"] in ("yes", "no") and q["figure"] for q in questions)
    assert body["yes"] == sum(q["answer"] == "yes" for q in questions)
    assert [len(g["questions"]) for g in body["groups"]] == [3, 3, 3, 2, 2, 1, 1]
    assert sum(e["no"] for e in body["punch_list"]) == sum(g["no"] for g in body["groups"]) == body["total"] - body["yes"]
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/rituals", "/api/v1/agendas/{agenda_id}", "/api/v1/agendas/{agenda_id}/action-items",
                 "/api/v1/action-items/{item_id}/outcome", "/api/v1/cadences/metrics", "/api/v1/flywheel/proposals/{proposal_id}/approve",
                 "/api/v1/assessment", "/api/v1/config/rituals"):
        assert path in paths, path
