"""What the browser tests share: pages signed in as a demo user, screenshots, the accessibility and width checks,
and the reference account's bad week (the data most pages need)."""

import os
import uuid
from datetime import timedelta

from sqlmodel import Session

from core.db import get_engine
from core.temporal import run_update
from models.signals import AcknowledgeInput
from models.tasks import TaskIn
from plays import load_library
from services.directory import actor_for
from services.signals import signal_handle
from services.tasks import add_task
from tests.support.events import bad_week, baseline
from tests.support.paths import PROJECT_ROOT
from tests.support.waiting import eventually
from workflows.signal import SignalWorkflow

CHROMIUM = os.environ.get("PILLAR_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
TEAM = {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky"}
WAIT_MS = 20_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BLOCKING_IMPACTS = ("serious", "critical")


async def new_page(browser, web, viewport=DESKTOP):
    context = await browser.new_context(base_url=web, viewport=viewport)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


async def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in(page, token: str, path: str = "/inbox") -> None:
    await page.goto(path)
    await page.wait_for_url("**/sign-in?next=**")
    await page.fill("input[name=token]", token)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_url(f"**{path}")


async def accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each (rule, help, where)."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]


async def overflow_px(page) -> int:
    """How far the page runs wider than the window (0 when a person never has to scroll sideways; wide tables
    scroll inside their own box)."""
    return await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


async def an_account_after_a_bad_week(api) -> str:
    """DESIGN.md's reference account: eight steady weeks, then the bad week, one event at a time (a score history)."""
    account_id = f"northwind-{uuid.uuid4().hex[:6]}"
    body = {"name": "Northwind University", "arr": 180_000, "motion": "academic", "segment": "enterprise",
            "renewal_date": "2027-03-31", "team": TEAM}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    steady = await api.http.post("/api/v1/events/batch", json={"events": baseline(account_id)}, headers=api.auth("rory"))
    assert steady.status_code == 201, steady.text
    for event in bad_week(account_id):
        assert (await api.http.post("/api/v1/events", json=event, headers=api.auth("rory"))).status_code == 201
    return account_id


async def renewal_save_with_a_short_sponsor_step(api, account_id: str) -> str:
    """The critical renewal_risk signal, acknowledged by Lee, who starts the Renewal Save for Casey. Its sponsor
    step is due two seconds after it opens (a test copy of the play), so the manager sees it overdue."""
    async def risk_signal():
        rows = (await api.http.get("/api/v1/signals", params={"account_id": account_id}, headers=api.auth("maya"))).json()
        return next((s["id"] for s in rows if s["family"] == "renewal_risk"), None)

    signal_id = await eventually(risk_signal)
    play = load_library()["renewal_save"].model_copy(deep=True)
    play.step("exec_sponsor").due = timedelta(seconds=2)
    with Session(get_engine()) as session:
        lee = actor_for(session, "lee", "csm_lead")
        await run_update(signal_handle(api.client, signal_id), SignalWorkflow.acknowledge, AcknowledgeInput(actor=lee))
        task = await add_task(session, api.client, signal_id, TaskIn(template_key="renewal_save_play", owner_id="casey"),
                              lee, library={"renewal_save": play})
    return task.play_run_id


async def post_signal(api, family: str, severity: str, account_id: str, **evidence) -> str:
    body = {"family": family, "severity": severity, "account_id": account_id, "evidence": evidence}
    response = await api.http.post("/api/v1/signals", json=body, headers=api.auth("admin"))
    assert response.status_code == 202, response.text
    return response.json()["id"]
