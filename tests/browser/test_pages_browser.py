"""The pages in a real browser: headless Debian Chromium driven by Playwright, against the app served by uvicorn
over a real Temporal dev server and worker. Screenshots of every page go to test-artifacts/screenshots/."""

import asyncio

import pytest
from sqlmodel import Session

from activities.play_actions import StepActionActivities
from core.db import get_engine
from services.plays import play_handle
from services.signals import signal_handle
from tests.support.browser import (an_account_after_a_bad_week, new_page, post_signal, renewal_save_with_a_short_sponsor_step,
                                   shot, sign_in)
from tests.support.plays import FIELDS, BuggyStepActions, worker_on
from tests.support.rituals import enable_rituals
from tests.support.waiting import eventually
from workflows.signal import SignalWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_csm_works_the_inbox_and_a_manager_finds_the_stuck_play(api, web, browser):
    account_id = await an_account_after_a_bad_week(api)
    run_id = await renewal_save_with_a_short_sponsor_step(api, account_id)
    signal_id = await post_signal(api, "adoption_decay", "warning", account_id, inactive_days=21, program="motion_b")

    # Casey signs in (the sign-in page first) and finds the signal with its SLA countdown
    casey = await new_page(browser, web)
    await casey.goto("/inbox")
    await casey.wait_for_url("**/sign-in?next=/inbox")
    await shot(casey, "01-sign-in")
    await casey.fill("input[name=token]", api.tokens["casey"])
    await casey.click("button:has-text('Sign in')")
    await casey.wait_for_url("**/inbox")
    signal = casey.locator(f"#signal-{signal_id}")
    await signal.locator("text=Adoption decay").wait_for()
    assert "left" in await signal.locator(".item-clock").inner_text()
    await shot(casey, "02-inbox")

    # acknowledge, then choose a task from the candidates
    await signal.locator("button:has-text('Acknowledge')").click()
    await casey.locator(".flash-ok:has-text('Signal acknowledged')").wait_for()
    choice = casey.locator(f"#signal-{signal_id} form.choice:has-text('enablement session')")
    await choice.locator("button:has-text('Choose')").click()
    await casey.locator(".flash-ok:has-text('Task created: Book an enablement session')").wait_for()
    task = casey.locator("#h-tasks + article, section[aria-labelledby=h-tasks] article", has_text="enablement session")
    await task.first.wait_for()

    # the Renewal Save's first step: refused for a missing field (the message is shown, what was typed is kept) ...
    diagnose = casey.locator(f"#step-{run_id}-diagnose")
    await diagnose.locator("textarea[name='field.root_cause']").fill("Champion moved to another faculty; usage down 35%")
    await diagnose.locator("button:has-text('Complete step')").click()
    refusal = casey.locator(f"#step-{run_id}-diagnose .form-error")
    await refusal.wait_for()
    assert "needs the field(s) health_evidence" in await refusal.inner_text()
    assert "usage down 35%" in await diagnose.locator("textarea[name='field.root_cause']").input_value()
    assert await diagnose.locator(".field-missing textarea[name='field.health_evidence']").count() == 1
    await shot(casey, "03-inbox-step-refused")
    history = await play_handle(api.client, run_id).fetch_history()

    # ... then accepted; the next step, the save plan, is ready for her and she completes it too
    await diagnose.locator("textarea[name='field.health_evidence']").fill("Health 72 → 25; NPS 8 → 3; tickets ×3")
    await diagnose.locator("button:has-text('Complete step')").click()
    await casey.locator(".flash-ok:has-text('Step done: Diagnose the risk')").wait_for()
    plan = casey.locator(f"#step-{run_id}-save_plan")
    await plan.locator("textarea[name='field.plan_summary']").fill("Re-onboard two faculties with the new champion")
    await plan.locator("textarea[name='field.success_criteria']").fill("Weekly active users back to 400 by March")
    await plan.locator("button:has-text('Complete step')").click()
    await casey.locator(".flash-ok:has-text('Step done: Agree a save plan')").wait_for()
    assert await casey.locator(f"#step-{run_id}-save_plan").count() == 0
    after = await play_handle(api.client, run_id).fetch_history()
    assert len(after.events) > len(history.events)

    # the inbox refreshes by itself: a new signal appears without a reload, and a note being typed survives it
    await casey.evaluate("window.__stillTheSamePage = true")
    refreshes = int(await casey.locator("#inbox-live").get_attribute("data-live-refreshes") or 0)
    task = casey.locator("section[aria-labelledby=h-tasks] article", has_text="enablement session").first
    await task.locator("input[name=note]").fill("booked for Thursday, waiting on")
    new_signal = await post_signal(api, "nps_decline", "info", account_id, nps_from=8, nps_to=3)
    await casey.locator(f"#signal-{new_signal}").wait_for()
    assert await casey.evaluate("window.__stillTheSamePage") is True
    assert int(await casey.locator("#inbox-live").get_attribute("data-live-refreshes")) > refreshes
    assert await task.locator("input[name=note]").input_value() == "booked for Thursday, waiting on"

    # an outcome the rules refuse is explained too (blocked_waiting_on needs blocked_on), keeping what was typed
    await task.locator("select[name=outcome]").select_option("blocked_waiting_on")
    await task.locator("button:has-text('Set outcome')").click()
    await casey.locator(".flash-error:has-text('blocked_waiting_on needs blocked_on')").wait_for()
    assert await task.locator("input[name=note]").input_value() == "booked for Thursday, waiting on"
    await shot(casey, "04-inbox-after")

    # the signal's own page, the account page, and the ops page, which a CSM may not see
    await casey.goto(f"/signals/{signal_id}")
    await casey.locator("h2:has-text('Timeline')").wait_for()
    assert await casey.locator("table.timeline td:has-text('Task added')").count() == 1
    await shot(casey, "05-signal")
    await casey.goto(f"/accounts/{account_id}")
    await casey.locator("svg.chart polyline.line-health").wait_for(state="attached")
    assert "critical" in await casey.locator(".tiles").inner_text()
    assert "$180K" in await casey.locator("dl.money").inner_text()
    await shot(casey, "06-account")
    await casey.goto("/accounts")
    await casey.locator(f"a[href='/accounts/{account_id}']").wait_for()
    await shot(casey, "07-accounts")
    response = await casey.goto("/ops")
    assert response.status == 403
    assert "This page needs one of the roles: admin, ops (you are csm)" in await casey.locator(".error-page").inner_text()
    await shot(casey, "08-ops-forbidden")

    # signing out ends the session: the inbox asks for the token again
    await casey.goto("/inbox")
    await casey.click("button:has-text('Sign out')")
    await casey.locator("text=You are signed out.").wait_for()
    await casey.goto("/inbox")
    await casey.wait_for_url("**/sign-in?next=/inbox")

    # Maya, the manager, finds the play overdue on the board (overdue runs come first) and opens it
    maya = await new_page(browser, web)
    await sign_in(maya, api.tokens["maya"], "/board")
    await maya.select_option("select[name=play]", "renewal_save")
    await maya.wait_for_url("**/board?play=renewal_save*")
    row = maya.locator(f"#run-{run_id}")
    await row.locator("text=overdue by").wait_for()
    assert "Lee Park" in await row.inner_text() and "Exec sponsor" in await row.inner_text()
    first_late = maya.locator("table.board tbody tr").first
    assert "overdue by" in await first_late.inner_text()
    await shot(maya, "09-board")
    await row.locator("a:has-text('Open')").click()
    await maya.wait_for_url(f"**/runs/{run_id}")
    graph = maya.locator("svg.graph")
    await graph.wait_for()
    assert await graph.locator("a.node").count() == 5
    assert await graph.locator("a.node-done[data-step=diagnose]").count() == 1
    assert await graph.locator("a.node-done[data-step=save_plan]").count() == 1
    assert await graph.locator("a.node-overdue[data-step=exec_sponsor]").count() == 1
    assert await graph.locator("a.node-blocked[data-step=renewal_decision]").count() == 1
    assert await graph.locator("path.edge").count() == 5
    assert "Waiting on “Engage an executive sponsor on both sides” — Lee Park" in await maya.locator(".stuck").inner_text()
    assert await maya.locator("table.timeline td:has-text('Step done')").count() == 2
    await shot(maya, "10-play-run")


async def test_another_sites_form_cannot_sign_the_browser_in(api, web, browser):
    """Login CSRF in a real browser: a page on another origin auto-submits Pillar's sign-in form with the attacker's
    token; the browser stays signed out."""
    page = await new_page(browser, web)
    attacker = "http://attacker.test/"
    form = (f'<form method="post" action="{web}/sign-in"><input name="token" value="{api.tokens["sam"]}">'
            '<input name="next" value="/inbox"></form><script>document.forms[0].submit()</script>')
    await page.route(attacker, lambda route: route.fulfill(status=200, content_type="text/html", body=form))
    await page.goto(attacker)
    await page.wait_for_url(f"{web}/sign-in")
    assert "came from another site" in await page.locator(".form-error").inner_text()
    assert not [c for c in await page.context.cookies(web) if c["name"] == "pillar_session"]
    await page.goto("/inbox")
    await page.wait_for_url("**/sign-in?next=/inbox")  # still signed out
    await page.context.close()


async def test_a_manager_opens_the_ritual_agenda_and_the_assessment(api, web, browser):
    enable_rituals("at_risk_review")
    triggered = await api.http.post("/api/v1/rituals/at_risk_review/trigger", json={"motion": "academic"},
                                    headers=api.auth("maya"))
    assert triggered.status_code == 202, triggered.text

    async def built():
        response = await api.http.get("/api/v1/rituals/at_risk_review/agendas/latest", params={"motion": "academic"},
                                      headers=api.auth("maya"))
        return response.json()["id"] if response.status_code == 200 and response.json()["source"] == "workflow" else None

    agenda_id = await eventually(built, timeout=30)
    maya = await new_page(browser, web)
    await sign_in(maya, api.tokens["maya"], "/rituals")
    link = maya.locator(f"a[href='/agendas/{agenda_id}']").first
    await link.wait_for()
    assert "Thursday at-risk review" in await maya.locator("table").first.inner_text()
    await shot(maya, "11-rituals")
    await maya.goto(f"/agendas/{agenda_id}")
    assert "Thursday at-risk review" in await maya.locator("h1").inner_text()
    await shot(maya, "13-agenda")
    await maya.goto("/assessment")
    await maya.locator("h1:has-text('Assessment')").wait_for()
    assert await maya.locator("table .badge").count() >= 10
    await shot(maya, "14-assessment")


async def test_ops_replays_and_resets_a_terminated_execution_from_its_page(api, web, browser):
    signal_id = await post_signal(api, "renewal_risk", "critical", "initech")
    handle = signal_handle(api.client, signal_id)

    async def paged():
        return any(e.type == "paged" for e in (await handle.query(SignalWorkflow.state)).timeline)

    await eventually(paged)
    await handle.terminate(reason="stuck on a bad deploy")
    workflow_id = f"signal-{signal_id}"

    olga = await new_page(browser, web)
    olga.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await sign_in(olga, api.tokens["olga"], "/ops?status=terminated")

    async def listed():
        await olga.reload()
        return await olga.locator(f"[id='exec-{workflow_id}']").count()

    await eventually(listed, timeout=30, interval=1)
    row = olga.locator(f"[id='exec-{workflow_id}']")
    assert "terminated: stuck on a bad deploy" in await row.inner_text()
    await shot(olga, "12-ops")
    await row.locator("button:has-text('Replay')").click()
    await olga.locator(f".flash-ok:has-text('Replayed {workflow_id} against the code running now: deterministic')").wait_for()

    row = olga.locator(f"[id='exec-{workflow_id}']")
    await row.locator("button:has-text('Reset')").click()
    await olga.locator(".flash-error:has-text('say why you reset it')").wait_for()
    row = olga.locator(f"[id='exec-{workflow_id}']")
    await row.locator("input[name=reason]").fill("re-run after the deploy was fixed")
    await row.locator("button:has-text('Reset')").click()
    await olga.locator(f".flash-ok:has-text('Reset {workflow_id}')").wait_for()
    description = await handle.describe()
    assert description.status.name == "RUNNING"


async def test_ops_retries_a_failed_play_step_from_the_ops_page(api, web, browser, own_task_queue):
    async with worker_on(api.client, own_task_queue, BuggyStepActions):
        created = await api.http.post("/api/v1/play-runs", json={"play_key": "renewal_save", "account_id": "globex"},
                                      headers=api.auth("casey"))
        run_id = created.json()["id"]
        steps = f"/api/v1/play-runs/{run_id}/steps"
        await api.http.post(f"{steps}/diagnose/complete", json={"fields": FIELDS["diagnose"]}, headers=api.auth("casey"))
        await api.http.post(f"{steps}/exec_sponsor/complete", json={"fields": FIELDS["exec_sponsor"]}, headers=api.auth("lee"))

    async with worker_on(api.client, own_task_queue, StepActionActivities):
        olga = await new_page(browser, web)
        await sign_in(olga, api.tokens["olga"], "/ops")
        row = olga.locator(f"[id='retry-{run_id}-exec_sponsor']")

        async def listed():
            await olga.reload()
            return await row.count()

        await eventually(listed, timeout=30, interval=1)
        assert "sponsor_title" in await row.inner_text()
        await shot(olga, "15-ops-failed-step")
        await olga.goto(f"/runs/{run_id}")
        assert await olga.locator("svg.graph a.node-failed[data-step=exec_sponsor]").count() == 1
        await shot(olga, "16-play-run-failed-step")
        await olga.fill("input[name=reason]", "sponsor_title fix deployed")
        await olga.click("button:has-text('Retry the step')")
        await olga.locator(".flash-ok:has-text('it went through and the play goes on')").wait_for()
        assert await olga.locator("svg.graph a.node-done[data-step=exec_sponsor]").count() == 1


async def test_a_lead_approves_an_agents_proposal_from_the_proposals_page(api, web, browser):
    from services.proposals import propose

    signal_id = await post_signal(api, "renewal_risk", "critical", "initech")  # owned by lee and alex
    with Session(get_engine()) as session:
        proposal = propose(session, tool="acknowledge_signal", operation="POST /api/v1/signals/{signal_id}/acknowledge",
                           arguments={"signal_id": signal_id}, stated_reason="Initech's renewal is at risk",
                           agent="claude-code", requested_by="alex", account_id="initech")
    alex = await new_page(browser, web)
    await sign_in(alex, api.tokens["alex"], "/proposals")
    await alex.locator(f"[id='proposal-{proposal.id}'] button:has-text('Approve')").click()
    await alex.locator(".flash-error:has-text('made on your behalf')").wait_for()

    lee = await new_page(browser, web)
    await sign_in(lee, api.tokens["lee"], "/proposals")
    row = lee.locator(f"[id='proposal-{proposal.id}']")
    assert "Initech's renewal is at risk" in await row.inner_text()
    assert "proposed by agent claude-code on behalf of alex" in await row.inner_text()
    await shot(lee, "16-proposals")
    await row.locator("button:has-text('Approve')").click()
    await lee.locator(".flash-ok:has-text('approved by lee')").wait_for()
    signal = (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("lee"))).json()
    assert signal["status"] == "acknowledged" and signal["acknowledged_by"] == "lee"
    await lee.goto("/proposals?status=applied")
    assert "approved by lee" in await lee.locator(f"[id='proposal-{proposal.id}']").inner_text()
