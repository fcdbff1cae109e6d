"""The demo book `make run` loads, on the processes `make run` starts: the reference week told through the API, and a
second load that adds nothing."""

import httpx
import pytest

from services.demo_book import DEMO_PLAY, DemoBook, bad_week, baseline, demo_play_library
from tests.support.stack import free_port, process_stack, seed
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_demo_book_tells_the_reference_week_and_loads_once(sqlite_db, tmp_path, monkeypatch):
    tokens = seed()
    monkeypatch.setenv("PILLAR_PLAYS_DIR", str(demo_play_library(tmp_path / "plays", first_step_due="PT2S", escalate_after="PT2S")))
    monkeypatch.setenv("CRM_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/crm")  # nothing listens: the CRM is down
    async with process_stack(tmp_path / "processes.log", monkeypatch) as (_, base_url, _), \
            httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        first = DemoBook(http, tokens)
        await first.load()
        assert first.added > 0

        async def get(path, who="maya", **params):
            response = await http.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {tokens[who]}"})
            assert response.status_code == 200, response.text
            return response.json()

        # the $180K account's bad week, scored from its events: 72 → 28, critical, in the score's own words
        history = await get("/accounts/acme/score/history")
        assert [p["health"] for p in history] == [72, 28] and history[-1]["risk_tier"] == "critical"
        score = await get("/accounts/acme/score", "casey")
        assert score["health"]["explanation"].startswith("health 28: usage down 35% vs the prior 30 days (−14), champion left (−12)")
        assert "renewal in 90 days (+10)" in score["renewal_risk"]["explanation"]

        # its renewal-risk signal, routed and paged, acknowledged; its Renewal Save with the first step overdue and escalated
        [risk] = [s for s in await get("/signals", account_id="acme") if s["family"] == "renewal_risk"]
        assert (risk["status"], risk["owners"], risk["acknowledged_by"]) == ("acknowledged", ["lee", "alex"], "lee")
        assert [n for n in await get("/me/notifications", "lee") if n["subject_id"] == risk["id"] and n["kind"] == "page"]
        run_id = (await get(f"/signals/{risk['id']}"))["tasks"][0]["play_run_id"]

        async def escalated():
            run = await get(f"/play-runs/{run_id}")
            step = run["steps"][0]
            notes = await get("/me/notifications", "lee")
            paged = [n for n in notes if n["subject_id"] == run_id and n["kind"] == "escalation"]
            return run if step["status"] == "overdue" and paged else None

        run = await eventually(escalated, timeout=30)
        assert (run["play_key"], run["status"], run["steps"][0]["owner_id"]) == (DEMO_PLAY, "running", "casey")
        assert run["stuck"]["step_key"] == "diagnose" and run["stuck"]["overdue_seconds"] > 0
        assert run["steps"][0]["escalated_to"] == ["lee"]
        assert [r["id"] for r in await get("/play-runs", status="running", stuck="true", account_id="acme")] == [run_id]

        # a second account with a cross-sell watermark, and a handoff waiting for its receiver
        assert [s["family"] for s in await get("/signals", account_id="globex")] == ["cross_sell_watermark"]
        [handoff] = await get("/handoffs", account_id="globex")
        assert (handoff["status"], handoff["from_user_id"], handoff["to_user_id"]) == ("submitted", "alex", "dana")

        # a step whose CRM log failed for real, listed for ops to retry
        failing = await eventually(lambda: get("/ops/executions", "olga", failed_steps="true"), timeout=30)
        assert [(e["failed_step"], e["failed_in"]) for e in failing] == [("exec_sponsor", "log_step_to_crm")]

        # rituals with agendas, action items (some closed, some open) and a completion rate
        items = await get("/action-items", limit=500)
        for ritual_key in ("signal_triage", "at_risk_review"):
            agenda = await get(f"/rituals/{ritual_key}/agendas/latest", motion="academic")
            assert agenda["source"] == "workflow" and agenda["sections"]
            assert sorted(i["outcome"] is None for i in agenda["action_items"]) == [False, True]
        rollout = await get("/cadences/rollout")  # the shipped triage, and the two rituals the story meets in
        assert {r["ritual_key"] for r in rollout["rituals"] if r["enabled"]} == {"signal_triage", "execution_one_on_ones", "at_risk_review"}
        this_week = {r["ritual_key"]: r["weeks"][-1] for r in (await get("/cadences/metrics"))["rituals"]}
        assert this_week["signal_triage"]["completed_on_time"] == 1 and this_week["signal_triage"]["completion_rate_pct"] == 100
        print("\n".join(first.loaded))

        # the pages say why in words and link to the evidence; components that contribute nothing are left out
        signed_in = await http.post("/sign-in", data={"token": tokens["lee"], "next": "/inbox"}, headers={"Accept": "text/html"})
        assert signed_in.status_code == 303, signed_in.text
        signal_page = (await http.get(f"/signals/{risk['id']}", headers={"Accept": "text/html"})).text
        assert "health 28: usage down 35% vs the prior 30 days (−14), champion left (−12)" in signal_page
        assert "rank" not in signal_page and 'href="/accounts/acme#events"' in signal_page
        account_page = (await http.get("/accounts/acme", headers={"Accept": "text/html"})).text
        evidence = (await get(f"/signals/{risk['id']}"))["evidence"]["event_ids"]
        assert 'id="events"' in account_page and all(f'id="{e}"' in account_page for e in evidence)
        assert "no product use for" not in account_page and "±0" not in account_page
        http.cookies.clear()

        # the second load finds everything and adds nothing
        again = DemoBook(http, tokens)
        await again.load()
        assert again.added == 0
        assert len([s for s in await get("/signals", account_id="acme") if s["family"] == "renewal_risk"]) == 1
        assert len(await get("/play-runs", account_id="initech")) == 1 and len(await get("/handoffs", account_id="globex")) == 1
        assert [p["health"] for p in await get("/accounts/acme/score/history")] == [72, 28]
        assert len(await get("/events", account_id="acme", limit=500)) == len(baseline("acme") + bad_week("acme"))
        assert len(await get("/action-items", limit=500)) == len(items)
