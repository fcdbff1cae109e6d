"""The work actions in Chromium (issue 18, items 2 and 5): a save play from acknowledgement to exit, a handoff round
trip with a rejection and a manager's override, and an admin who creates a user and sees the token once."""

import pytest

from tests.support.browser import TEAM, new_page, post_signal, shot, sign_in
from tests.support.http import unique
from tests.support.stack import ADMIN_TOKEN
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")
AE_TO_CSM = {"buying_criteria": "SSO, LMS grade sync, accessibility audit", "champion_map": "Dr. Reyes (provost), IT lead Kim",
             "procurement_timeline": "PO in two weeks", "known_risks": "Budget freeze in Q1",
             "open_commitments": "Two onboarding workshops", "related_signals": "none open"}


async def an_account(api, name: str) -> str:
    account_id = unique("acct")
    body = {"name": name, "arr": 120_000, "motion": "academic", "segment": "enterprise", "team": TEAM}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    return account_id


async def flash(page, text: str) -> None:
    await page.locator(f".flash-ok:has-text('{text}')").wait_for()


async def test_the_csms_save_play_from_acknowledgement_to_exit(api, web, browser):
    account_id = await an_account(api, "Fabrikam College")
    signal_id = await post_signal(api, "renewal_risk", "critical", account_id, usage_change=-0.35)

    # Lee (the CSM lead it is routed to) acknowledges it in the inbox and chooses the Renewal Save
    lee = await new_page(browser, web)
    await sign_in(lee, api.tokens["lee"])
    await lee.locator(f"#signal-{signal_id} button:has-text('Acknowledge')").click()
    await flash(lee, "Signal acknowledged")
    choice = lee.locator(f"#signal-{signal_id} form.choice:has-text('Run the Renewal Save play')")
    await choice.locator("button:has-text('Choose')").click()
    await flash(lee, "its play has started")
    await lee.context.close()

    # Casey, the account's CSM, owns its first steps: she opens the play from the signal and works it on the run page
    casey = await new_page(browser, web)
    await sign_in(casey, api.tokens["casey"], f"/signals/{signal_id}")
    await casey.click("a:has-text('open the play')")
    await casey.wait_for_url("**/runs/*")
    run_id = casey.url.rsplit("/", 1)[1]
    diagnose = casey.locator(f"#step-{run_id}-diagnose")
    await diagnose.locator("textarea[name='field.root_cause']").fill("Champion moved on; usage down 35%")
    await diagnose.locator("textarea[name='field.health_evidence']").fill("Health 72 → 28; NPS 8 → 3")
    await diagnose.locator("button:has-text('Complete step')").click()
    await flash(casey, "Step done: Diagnose the risk")
    plan = casey.locator(f"#step-{run_id}-save_plan")
    await plan.locator("textarea[name='field.plan_summary']").fill("Re-onboard two faculties with the new champion")
    await plan.locator("textarea[name='field.success_criteria']").fill("Weekly active users back to 400")
    await plan.locator("button:has-text('Complete step')").click()
    await flash(casey, "Step done: Agree a save plan")

    # the customer signs early: she ends the play with its outcome
    await casey.click("summary:has-text('End the play')")
    await casey.select_option("select[name=outcome]", "renewed")
    await casey.fill("form[action$='/exit'] input[name=note]", "Signed a two-year renewal")
    await casey.click("form[action$='/exit'] button:has-text('End the play')")
    await flash(casey, "Play ended: renewed")
    await shot(casey, "action-run-ended")
    run = (await api.http.get(f"/api/v1/play-runs/{run_id}", headers=api.auth("maya"))).json()
    assert run["outcome"] == "renewed" and run["status"] != "running", run
    await casey.context.close()


async def test_a_handoff_round_trip_and_a_managers_override(api, web, browser):
    account_id = await an_account(api, "Contoso Institute")

    # Alex drafts an AE → CSM handoff with the known risks left out
    alex = await new_page(browser, web)
    await sign_in(alex, api.tokens["alex"])
    await alex.goto(f"/handoffs/new?account_id={account_id}")
    await alex.select_option("select[name=to_user_id]", "casey")
    for name, value in AE_TO_CSM.items():
        if name != "known_risks":
            await alex.fill(f"[name='field.{name}']", value)
    await alex.click("button:has-text('Create the draft')")
    await flash(alex, "1 required field(s) still to fill")
    handoff_url = alex.url

    # submitting is refused, naming the missing field, which is marked
    await alex.click("button:has-text('Save and submit to Casey')")
    refusal = alex.locator(".form-error")
    await refusal.wait_for()
    assert "known_risks" in await refusal.inner_text()
    assert await alex.locator(".field-missing textarea[name='field.known_risks']").count() == 1
    await shot(alex, "handoff-refused")

    # he fills it, saves, and submits
    await alex.fill("[name='field.known_risks']", AE_TO_CSM["known_risks"])
    await alex.click("button:text-is('Save')")
    await flash(alex, "Fields saved")
    await alex.click("button:has-text('Save and submit to Casey')")
    await flash(alex, "Submitted")

    # Casey finds it waiting for her and sends it back with a reason
    casey = await new_page(browser, web)
    await sign_in(casey, api.tokens["casey"], "/handoffs")
    await casey.locator("section[aria-labelledby=h-received] a", has_text="AE → CSM").first.wait_for()
    await casey.goto(handoff_url)
    await casey.fill("form[action$='/reject'] input[name=reason]", "The procurement timeline needs dates")
    await casey.click("button:has-text('Reject')")
    await flash(casey, "Sent back to the sender")

    # Alex reads why, fixes it and submits again; Casey accepts
    await alex.goto(handoff_url)
    assert "The procurement timeline needs dates" in await alex.locator(".stuck").inner_text()
    await alex.fill("[name='field.procurement_timeline']", "PO on 12 Jan, signature by 20 Jan")
    await alex.click("button:has-text('Save and submit to Casey')")
    await flash(alex, "Submitted")
    await casey.goto(handoff_url)
    await casey.click("button:has-text('Accept')")
    await flash(casey, "Handoff accepted")

    # the audit shows every transition
    actions = await casey.locator("table.audit tbody tr td:nth-child(2)").all_inner_texts()
    assert actions == ["Created", "Patched", "Submitted", "Rejected", "Patched", "Submitted", "Accepted"], actions
    await shot(casey, "handoff-accepted")
    await casey.context.close()

    # a second handoff, still missing context: Maya, their manager, overrides the gate
    second = await api.http.post("/api/v1/handoffs", json={"kind": "ae_to_csm", "account_id": account_id, "to_user_id": "lee",
                                                          "fields": {"buying_criteria": "SSO"}}, headers=api.auth("alex"))
    assert second.status_code == 201, second.text
    maya = await new_page(browser, web)
    await sign_in(maya, api.tokens["maya"])
    await maya.goto(f"/handoffs/{second.json()['id']}")
    assert await maya.locator("button:has-text('Accept')").count() == 0  # not the receiver
    maya.on("dialog", lambda dialog: dialog.accept())
    await maya.fill("form[action$='/override'] input[name=reason]", "The renewal call is tomorrow; the AE briefs live")
    await maya.click("button:has-text('Override the gate')")
    await flash(maya, "Overridden")
    await maya.locator("a:has-text('the governance-violation signal')").wait_for()
    await shot(maya, "handoff-overridden")

    async def governance_signal():
        rows = (await api.http.get("/api/v1/signals", params={"account_id": account_id}, headers=api.auth("maya"))).json()
        return [s for s in rows if s["family"] == "handoff_governance_violation"]

    assert await eventually(governance_signal)
    await alex.context.close()
    await maya.context.close()


async def test_an_admin_creates_a_user_and_sees_the_token_once(api, web, browser):
    user_id = unique("jordan")
    admin = await new_page(browser, web)
    await sign_in(admin, ADMIN_TOKEN, "/admin/users")
    await admin.fill("input[name=id]", user_id)
    await admin.fill("input[name=name]", "Jordan Rivera")
    await admin.select_option("select[name=role]", "csm")
    await admin.select_option("select[name=manager_id]", "lee")
    async with admin.expect_response(lambda r: r.url.endswith("/admin/users") and r.request.method == "POST") as answer:
        await admin.click("button:has-text('Create and show the token')")
    assert "no-store" in (await answer.value).headers["cache-control"]
    token = await admin.locator("input[data-token]").input_value()
    assert token.startswith("pl_") and token not in admin.url
    await shot(admin, "admin-token-once")

    await admin.click("a:has-text('Done: back to the users')")
    assert user_id in await admin.content() and token not in await admin.content()

    jordan = await new_page(browser, web)
    await sign_in(jordan, token, "/inbox")
    assert "Jordan Rivera" in await jordan.locator(".who-name").inner_text()
    await jordan.context.close()
    await admin.context.close()
