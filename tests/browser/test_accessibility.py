"""Every page a person uses, at a desktop's 1,280 px and a phone's 390 px: no serious or critical axe-core
violation, and nothing wider than the window (wide tables scroll inside their own box)."""

import pytest

from tests.support.browser import (DESKTOP, PHONE, accessibility_violations, an_account_after_a_bad_week, new_page,
                                   overflow_px, post_signal, renewal_save_with_a_short_sponsor_step, shot, sign_in)
from tests.support.rituals import triggered_agenda
from tests.support.stack import ADMIN_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="session")

# who looks at each page: a manager sees the team's work, ops the executions
PAGES = {
    "maya": ["/inbox", "/signals/{signal_id}", "/board", "/runs/{run_id}", "/accounts", "/accounts/{account_id}",
             "/rituals", "/agendas/{agenda_id}", "/assessment", "/proposals", "/dashboard",
             "/handoffs", "/handoffs/new", "/handoffs/{handoff_id}", "/agendas/{agenda_id}/meeting",
             "/proposals/flywheel", "/config", "/config/routing", "/config/routing/versions", "/config/routing/versions/1"],
    "olga": ["/ops"],
    "rory": ["/inventory", "/config/routing", "/config/task-templates", "/config/handoff-specs",
             "/config/signal-definitions", "/config/score-weights", "/config/cost-model", "/config/territory",
             "/config/rituals", "/config/account-calendars", "/config/calendars", "/config/rotations"],
    "admin": ["/admin/users"],
}


async def test_every_page_is_accessible_and_fits_the_window(api, web, browser):
    account_id = await an_account_after_a_bad_week(api)
    ids = {"account_id": account_id, "run_id": await renewal_save_with_a_short_sponsor_step(api, account_id),
           "signal_id": await post_signal(api, "adoption_decay", "warning", account_id, inactive_days=21),
           "agenda_id": (await triggered_agenda(api, "at_risk_review"))["id"],
           "handoff_id": await a_draft_handoff(api, account_id)}
    problems = []
    for viewport in (DESKTOP, PHONE):
        problems += await problems_at(api, web, browser, ids, viewport)
    assert not problems, "\n".join(problems)


async def a_draft_handoff(api, account_id: str) -> str:
    body = {"kind": "ae_to_csm", "account_id": account_id, "to_user_id": "casey", "fields": {"buying_criteria": "SSO"}}
    response = await api.http.post("/api/v1/handoffs", json=body, headers=api.auth("alex"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def problems_at(api, web, browser, ids: dict[str, str], viewport: dict) -> list[str]:
    width = f"{viewport['width']} px"
    anonymous = await new_page(browser, web, viewport)
    await anonymous.goto("/sign-in")
    problems = [f"{width} /sign-in: {v}" for v in await accessibility_violations(anonymous)]
    await anonymous.context.close()
    for user, paths in PAGES.items():
        page = await new_page(browser, web, viewport)
        await sign_in(page, ADMIN_TOKEN if user == "admin" else api.tokens[user], "/inbox")
        for path in (p.format(**ids) for p in paths):
            response = await page.goto(path)
            assert response.status == 200, f"{user} {path}: {response.status}"
            problems += [f"{width} {path}: {v}" for v in await accessibility_violations(page)]
            if (wider := await overflow_px(page)) > 0:
                problems.append(f"{width} {path}: {wider} px wider than the window")
            if viewport is PHONE:
                await shot(page, f"phone-{path.strip('/').split('/')[0]}")
        await page.context.close()
    return problems
