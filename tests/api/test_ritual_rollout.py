"""The rituals' rollout through the HTTP API on a real dev server: the rollout view (and on /rituals the 75% target
line), and a trigger of a ritual that is not switched on refused with 409 in words, building nothing."""

import pytest

from tests.support.http import assert_error
from tests.support.pages import signed_in
from tests.support.rituals import enable_rituals

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def set_enabled(api, key: str, on: bool) -> None:
    config = (await api.http.get("/api/v1/config/rituals", headers=api.auth("rory"))).json()
    body = {k: v for k, v in config.items() if k not in ("version", "created_at", "created_by")}
    body["rituals"] = [{**r, "enabled": on} if r["key"] == key else r for r in config["rituals"]]
    written = await api.http.put("/api/v1/config/rituals", json=body, headers=api.auth("rory"))
    assert written.status_code == 200, written.text


async def test_a_ritual_not_switched_on_is_refused_with_409_and_builds_nothing(api):
    await set_enabled(api, "retro", False)
    try:
        before = (await api.http.get("/api/v1/rituals/retro/agendas", headers=api.auth("maya"))).json()
        refused = await api.http.post("/api/v1/rituals/retro/trigger", json={"motion": "academic"}, headers=api.auth("maya"))
        assert_error(refused, 409, "conflict", "'retro' is not enabled", "one at a time")
        assert (await api.http.get("/api/v1/rituals/retro/agendas", headers=api.auth("maya"))).json() == before
        rollout = (await api.http.get("/api/v1/cadences/rollout", headers=api.auth("casey"))).json()
        retro = next(r for r in rollout["rituals"] if r["ritual_key"] == "retro")
        assert (retro["enabled"], retro["enabled_since"], retro["sticks"]) == (False, None, False)
    finally:
        enable_rituals("retro")


async def test_the_rollout_tracks_each_enabled_ritual_toward_75_percent_on_the_api_and_the_page(api):
    assert_error(await api.http.get("/api/v1/cadences/rollout"), 401, "unauthorized")
    rollout = (await api.http.get("/api/v1/cadences/rollout", headers=api.auth("casey"))).json()
    assert (rollout["target_pct"], rollout["stick_weeks"]) == (75.0, 3)
    assert rollout["order"] == ["signal_triage", "execution_one_on_ones", "forecast_call", "at_risk_review", "retro"]
    triage = rollout["rituals"][0]
    assert triage["ritual_key"] == "signal_triage" and triage["enabled"] and triage["enabled_in_version"] == 1
    assert triage["weeks"][0]["week_start"] <= triage["enabled_since"][:10]  # tracked from the week it was switched on
    assert rollout["next_reason"]

    async with signed_in(api, api.tokens["maya"]) as page:
        html = (await page.get("/rituals")).text
    assert 'aria-labelledby="rollout-h"' in html and "75% completion target" in html
    assert "the dashed line is the 75% target" in html and 'class="target"' in html and "Monday signal triage" in html
