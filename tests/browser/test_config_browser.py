"""Versioned config in the pages, in Chromium: revops edits a routing rule in its form (a refusal shown in words next
to its field, what was typed kept, nothing saved), the new version's diff, and a signal posted afterwards that
follows it; a CSM reads config but a save she forges is refused; a flywheel proposal approved and reverted from the
proposals page."""

import contextlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from models.rituals import RitualsConfigIn
from services.rituals import build_times, schedule_id
from tests.support.browser import TEAM, new_page, post_signal, shot, sign_in
from tests.support.flywheel import a_proposal_to_lower_the_critical_tier
from tests.support.rituals import enable_rituals

pytestmark = pytest.mark.asyncio(loop_scope="session")
FAMILY, SEVERITY = "nps_decline", "info"


async def config(api, path: str) -> dict:
    response = await api.http.get(f"/api/v1/config/{path}", headers=api.auth("rory"))
    assert response.status_code == 200, response.text
    return response.json()


@contextlib.asynccontextmanager
async def put_back_afterwards(api, path: str):
    """The config in force, written back as a newer version when the test ends (the other tests share it)."""
    before = await config(api, path)
    try:
        yield before
    finally:
        body = {k: v for k, v in before.items() if k not in ("version", "created_at", "created_by")}
        restored = await api.http.put(f"/api/v1/config/{path}", json=body, headers=api.auth("rory"))
        assert restored.status_code == 200, restored.text


async def an_account(api) -> str:
    account_id = f"lakeside-{uuid.uuid4().hex[:6]}"
    body = {"name": "Lakeside College", "arr": 60_000, "motion": "academic", "segment": "mid_market", "team": TEAM}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    return account_id


async def names_holding(page, selector: str, value: str) -> list[str]:
    """The names of the inputs matching `selector` whose value is `value`."""
    inputs = page.locator(selector)
    found = []
    for i in range(await inputs.count()):
        if await inputs.nth(i).input_value() == value:
            found.append(await inputs.nth(i).get_attribute("name"))
    return found


async def editing(api, web, browser, path: str):
    """Rory (revops) on the form of /config/<path>."""
    page = await new_page(browser, web)
    await sign_in(page, api.tokens["rory"], f"/config/{path}")
    return page


async def row_holding(page, table: str, column: str, value: str) -> str:
    """The form's name for the row of `table` whose `column` is `value` (`t.<table>.N`)."""
    [name] = await names_holding(page, f"input[name^='t.{table}.'][name$='.{column}']", value)
    return name.removesuffix(f".{column}")


async def save_as(page, path: str, version: int):
    """Save the form, and land on the new version's diff."""
    await page.locator("button:has-text('Save as version')").first.click()
    await page.wait_for_url(f"**/config/{path}/versions/{version}")


async def rule_row(page) -> str:
    """The form's name for the rule routing FAMILY × SEVERITY (`t.rules.N`)."""
    for name in await names_holding(page, "input[name^='t.rules.'][name$='.family']", FAMILY):
        row = name.removesuffix(".family")
        if await page.locator(f"select[name='{row}.severity']").input_value() == SEVERITY:
            return row
    raise AssertionError(f"no {FAMILY} × {SEVERITY} rule in the form")


async def test_a_routing_edit_in_the_form_is_refused_in_words_then_saved_and_a_new_signal_follows_it(api, web, browser):
    account_id = await an_account(api)
    async with put_back_afterwards(api, "routing") as before:
        rory = await new_page(browser, web)
        await sign_in(rory, api.tokens["rory"], "/config")
        await rory.locator("a:has-text('Routing matrix')").click()
        await rory.wait_for_url("**/config/routing")
        row = await rule_row(rory)
        await shot(rory, "config-routing-form")

        # an SLA over the maximum and an unknown role: refused next to their fields, what was typed kept, nothing saved
        await rory.fill(f"input[name='{row}.owners']", "csm_lead, boss")
        await rory.fill(f"input[name='{row}.sla']", "P3000000D")
        await rory.locator("button:has-text('Save as version')").first.click()
        flash = rory.locator(".flash-error")
        await flash.wait_for()
        assert "Not saved" in await flash.inner_text()
        sla_error = rory.locator(f"#err-{row.replace('.', '-')}-sla")
        assert "a duration can be at most P400D" in await sla_error.inner_text()
        assert "'boss' is not one of" in await rory.locator(f"#err-{row.replace('.', '-')}-owners").inner_text()
        assert await rory.locator(f"input[name='{row}.sla']").input_value() == "P3000000D"
        assert await rory.locator(f"input[name='{row}.owners']").input_value() == "csm_lead, boss"
        assert (await config(api, "routing"))["version"] == before["version"]
        await shot(rory, "config-routing-refused")

        # corrected, with a first escalation step in the blank slot: a new version, and its diff
        await rory.fill(f"input[name='{row}.owners']", "csm_lead")
        await rory.fill(f"input[name='{row}.sla']", "PT6H")
        await rory.fill(f"input[name='{row}.escalation.0.after']", "PT2H")
        await rory.select_option(f"select[name='{row}.escalation.0.to']", "manager")
        version = before["version"] + 1
        await save_as(rory, "routing", version)
        await rory.locator(f".flash-ok:has-text('Routing matrix version {version} saved')").wait_for()
        change = rory.locator(".diff-changed", has_text=f"{FAMILY.replace('_', ' ')} · {SEVERITY}")
        text = await change.inner_text()
        assert "owners" in text and "csm_lead" in text and "P7D" in text and "PT6H" in text and "after PT2H, to manager" in text
        assert await rory.locator(".diff-added, .diff-removed").count() == 0
        await shot(rory, "config-routing-diff")
        saved = await config(api, "routing")
        assert saved["version"] == version and saved["created_by"] == "rory"
        assert len(saved["rules"]) == len(before["rules"])

        # a signal posted afterwards gets the new owner and SLA
        posted_at = datetime.now(UTC)
        signal_id = await post_signal(api, FAMILY, SEVERITY, account_id, nps_from=8, nps_to=4)
        signal = (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("admin"))).json()
        assert signal["owners"] == [TEAM["csm_lead"]] and signal["routing_version"] == version
        due = datetime.fromisoformat(signal["sla_due_at"])
        assert timedelta(hours=5, minutes=59) < due - posted_at < timedelta(hours=6, minutes=1)

        # the versions list names who saved each one
        await rory.goto("/config/routing/versions")
        assert "Rory" in await rory.locator("table tbody tr").first.inner_text()
        await rory.context.close()


async def test_a_csm_reads_config_but_cannot_save_it_even_by_a_forged_post(api, web, browser):
    before = await config(api, "routing")
    casey = await new_page(browser, web)
    await sign_in(casey, api.tokens["casey"], "/config/routing")
    assert await casey.locator("button:has-text('Save as version')").count() == 0
    assert await casey.locator("input[name$='.sla'][disabled]").count() > 0
    assert await casey.locator("input[name$='.sla']:not([disabled])").count() == 0
    csrf = await casey.locator("input[name=csrf]").first.input_value()
    row = await rule_row(casey)
    form = {"csrf": csrf, "version": str(before["version"]), "t.rules.count": "1", "t.rules.0.family": FAMILY,
            "t.rules.0.severity": SEVERITY, "t.rules.0.owners": "csm", "t.rules.0.sla": "PT1S"}
    assert row.startswith("t.rules.")
    forged = await casey.request.post(f"{web}/config/routing", form=form, max_redirects=0)
    assert forged.status == 403
    assert "saving config needs one of the roles: admin, revops (you are csm)" in await forged.text()
    without_token = await casey.request.post(f"{web}/config/routing", form={**form, "csrf": "forged"}, max_redirects=0)
    assert without_token.status == 403
    assert (await config(api, "routing"))["version"] == before["version"]
    await casey.context.close()


async def test_a_flywheel_proposal_is_approved_and_reverted_from_the_proposals_page(api, web, browser):
    band = {"tier": "high", "outcomes": 12, "saved": 7, "lost": 5, "other": 0, "save_rate_pct": 58.3, "loss_rate_pct": 41.7}
    proposal_id, _, critical = a_proposal_to_lower_the_critical_tier(
        "fly-page", "Lower the critical tier by 5 points: high-risk accounts were lost as often as critical ones",
        plays=24, bands=[band])
    rory = await new_page(browser, web)
    await sign_in(rory, api.tokens["rory"], "/proposals")
    await rory.locator("a:has-text('From the flywheel')").click()
    await rory.wait_for_url("**/proposals/flywheel")
    card = rory.locator(f"#flywheel-{proposal_id}")
    assert "renewal_risk.tiers.critical" in await card.inner_text()
    await card.locator("summary").click()
    assert "41.7" in await card.inner_text() or "42%" in await card.inner_text()
    await shot(rory, "flywheel-proposal")

    await card.locator("input[name=note]").fill("agreed in the forecast call")
    await card.locator("button:has-text('Approve')").click()
    await rory.locator(".flash-ok:has-text('Flywheel proposal approved: score weights version')").wait_for()
    weights = (await api.http.get("/api/v1/config/score-weights", headers=api.auth("casey"))).json()
    assert weights["renewal_risk"]["tiers"]["critical"] == critical - 5 and weights["created_by"] == "rory"

    # approved: the revert needs a reason, said in words when missing
    await rory.goto("/proposals/flywheel?status=approved")
    card = rory.locator(f"#flywheel-{proposal_id}")
    await card.locator("button:has-text('Revert')").click()
    await rory.locator(f"#flywheel-{proposal_id} .form-error:has-text('say why')").wait_for()
    await card.locator("input[name=reason]").fill("too many false alarms")
    await card.locator("button:has-text('Revert')").click()
    await rory.locator(".flash-ok:has-text('Flywheel proposal reverted')").wait_for()
    weights = (await api.http.get("/api/v1/config/score-weights", headers=api.auth("casey"))).json()
    assert weights["renewal_risk"]["tiers"]["critical"] == critical
    await rory.context.close()

    # a CSM sees the proposals but no decision, and a decision she forges is refused
    casey = await new_page(browser, web)
    await sign_in(casey, api.tokens["casey"], "/proposals/flywheel?status=reverted")
    assert await casey.locator(f"#flywheel-{proposal_id}").count() == 1
    assert await casey.locator("button:has-text('Revert'), button:has-text('Approve')").count() == 0
    csrf = await casey.locator("input[name=csrf]").first.input_value()
    forged = await casey.request.post(f"{web}/proposals/flywheel/{proposal_id}/approve", form={"csrf": csrf}, max_redirects=0)
    assert forged.status == 403
    await casey.context.close()


async def test_a_threshold_per_motion_is_edited_in_its_row_and_the_diff_shows_it(api, web, browser):
    async with put_back_afterwards(api, "signal-definitions") as before:
        rory = await editing(api, web, browser, "signal-definitions")
        row = await row_holding(rory, "definitions", "family", "adoption_decay")
        [academic] = await names_holding(rory, f"input[name^='{row}.motion_overrides.'][name$='.motion']", "academic")
        await rory.fill(f"input[name='{academic.removesuffix('.motion')}.value']", "50")
        await save_as(rory, "signal-definitions", before["version"] + 1)
        change = await rory.locator(".diff-changed", has_text="adoption decay").inner_text()
        assert "motion overrides · academic · inactive days" in change and "45" in change and "50" in change
        await shot(rory, "config-signal-definitions-diff")
        saved = await config(api, "signal-definitions")
        decay = next(d for d in saved["definitions"] if d["family"] == "adoption_decay")
        assert decay["motion_overrides"]["academic"]["inactive_days"] == 50
        assert decay["motion_overrides"]["credentialed"] == {"inactive_days": 10}
        await rory.context.close()


async def test_a_ritual_moved_in_its_form_moves_its_schedule(api, web, browser):
    """The page saves the rituals like the API's PUT: the version, then its Temporal Schedules."""
    enable_rituals("retro")
    async with put_back_afterwards(api, "rituals") as before:
        rory = await editing(api, web, browser, "rituals")
        row = await row_holding(rory, "rituals", "key", "retro")
        await rory.fill(f"input[name='{row}.time']", "16:30")
        await save_as(rory, "rituals", before["version"] + 1)
        assert "schedules" not in await rory.locator(".flash-ok").inner_text()
        change = await rory.locator(".diff-changed", has_text="rituals: retro").inner_text()
        assert "time" in change and "16:30" in change
        view = (await api.http.get("/api/v1/rituals", headers=api.auth("rory"))).json()
        retro = next(r for r in view["rituals"] if r["key"] == "retro")
        assert retro["time"] == "16:30" and view["config_version"] == before["version"] + 1
        saved = await config(api, "rituals")
        assert saved["created_by"] == "rory"
        moved = RitualsConfigIn.model_validate(saved).ritual("retro")
        schedule = await api.client.get_schedule_handle(schedule_id("retro", moved.motions[0])).describe()
        now = datetime.now(UTC)
        assert schedule.info.next_action_times[:2] == build_times(moved, now, now + timedelta(weeks=3))[:2]
        await rory.context.close()


async def test_a_form_opened_before_someone_else_saved_is_refused_and_keeps_what_was_typed(api, web, browser):
    async with put_back_afterwards(api, "routing") as before:
        rory = await editing(api, web, browser, "routing")
        row = await rule_row(rory)
        await rory.fill(f"input[name='{row}.sla']", "PT8H")
        meanwhile = await api.http.put("/api/v1/config/routing", json={"rules": before["rules"]}, headers=api.auth("admin"))
        assert meanwhile.status_code == 200, meanwhile.text
        await rory.locator("button:has-text('Save as version')").first.click()
        newer = before["version"] + 1
        await rory.locator(f".flash-error:has-text('version {newer} was saved meanwhile')").wait_for()
        assert await rory.locator(f"input[name='{row}.sla']").input_value() == "PT8H"
        assert (await config(api, "routing"))["version"] == newer
        await save_as(rory, "routing", newer + 1)  # seen, and saved on top of the newer version
        assert "PT8H" in await rory.locator(".diff-changed").inner_text()
        await rory.context.close()
