"""The manager's morning in Chromium: the dashboard's charts (with their numbers and CSV), the stuck play they
point to, and a nudge that lands in the step owner's inbox (once an hour: a second one is refused in words)."""

import pytest

from tests.support.browser import an_account_after_a_bad_week, new_page, renewal_save_with_a_short_sponsor_step, shot, sign_in
from tests.support.plays import FIELDS
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_managers_morning_dashboard_then_the_stuck_play_then_a_nudge(api, web, browser):
    account_id = await an_account_after_a_bad_week(api)
    run_id = await renewal_save_with_a_short_sponsor_step(api, account_id)
    done = await api.http.post(f"/api/v1/play-runs/{run_id}/steps/diagnose/complete", json={"fields": FIELDS["diagnose"]},
                               headers=api.auth("casey"))
    assert done.status_code == 200, done.text

    async def stuck_on_the_sponsor():
        runs = (await api.http.get("/api/v1/play-runs", params={"stuck": "true", "account_id": account_id},
                                   headers=api.auth("maya"))).json()
        return any(r["id"] == run_id and r["stuck"]["step_key"] == "exec_sponsor" for r in runs)

    await eventually(stuck_on_the_sponsor, what="the sponsor step overdue")

    maya = await new_page(browser, web)
    await sign_in(maya, api.tokens["maya"], "/dashboard")
    for key in ("arr_at_risk", "sla_states", "response_by_family", "response_by_team", "completion", "stuck_plays", "assessment"):
        await maya.locator(f"#chart-{key} h2").wait_for()
    assert await maya.locator("#t-completion").text_content() == \
        "Action-item completion rate by ritual per week (target 75%)"
    assert "75% target" in await maya.locator("#chart-completion svg").text_content()
    stuck = maya.locator("#chart-stuck_plays .stuck-list a", has_text="exec sponsor, Lee Park")
    assert await stuck.count() == 1
    await shot(maya, "dashboard")
    csv = await maya.request.get("/dashboard/stuck_plays.csv")
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert "renewal_save,exec_sponsor,lee,Lee Park" in await csv.text()
    assert (await maya.request.get("/dashboard/nothing.csv")).status == 404

    # the chart points at the longest-waiting run stuck there: Maya opens it and nudges Lee
    await stuck.click()
    await maya.wait_for_url("**/runs/*")
    nudged_run = maya.url.rsplit("/", 1)[-1]
    form = maya.locator(f"#nudge-{nudged_run}-exec_sponsor")
    await form.locator("input[name=note]").fill("the provost meets us Thursday")
    await form.locator("button", has_text="Nudge Lee Park").click()
    await maya.locator(".flash-ok", has_text="Nudged Lee Park about Engage an executive sponsor").wait_for()
    assert "Maya Moreno nudged lee about exec_sponsor" in await maya.locator("#h-timeline + *").inner_text()
    form = maya.locator(f"#nudge-{nudged_run}-exec_sponsor")
    await form.locator("input[name=note]").fill("again")
    await form.locator("button", has_text="Nudge Lee Park").click()
    await maya.locator(".flash-error", has_text="the next nudge is allowed at").wait_for()
    assert await form.locator("input[name=note]").input_value() == "again"  # what was typed is kept

    lee = await new_page(browser, web)
    await sign_in(lee, api.tokens["lee"], "/inbox")
    await lee.locator(".note-text", has_text="Maya Moreno nudged you about Engage an executive sponsor on both sides: "
                                             "the provost meets us Thursday").wait_for()
    await shot(lee, "dashboard-nudge-in-the-owners-inbox")
    assert (await lee.goto("/dashboard")).status == 403  # a csm_lead leads no book-wide view
    await maya.context.close()
    await lee.context.close()
