"""Account calendars through the API: an account's phase now, its next windows and the thresholds in force; the
config is versioned and refused in words when it names a calendar that does not exist; who may read which account."""

import pytest

from services.account_calendars import DEFAULT_ACCOUNT_CALENDARS
from tests.support.accounts import make_account

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_account_says_which_phase_it_is_in_and_what_that_changes(api):
    shipped = await api.http.put("/api/v1/config/account-calendars", json=DEFAULT_ACCOUNT_CALENDARS, headers=api.auth("rory"))
    assert shipped.status_code == 200, shipped.text  # the shipped calendars, whatever another test left in force
    account_id = await make_account(api, "cal")
    response = await api.http.get(f"/api/v1/accounts/{account_id}/calendar", params={"at": "2027-04-25T15:00:00Z"},
                                  headers=api.auth("casey"))
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["calendars"] == ["academic_year", "fiscal_july"]
    assert [w["phase"] for w in view["phases_now"]] == ["exams", "budget_window"]
    assert view["thresholds_today"]["adoption_decay"] == {"inactive_days": 60}
    assert [w["phase"] for w in view["next_windows"][:2]] == ["summer_break", "fiscal_year_end"]  # both June 1
    summer = (await api.http.get(f"/api/v1/accounts/{account_id}/calendar", params={"at": "2027-07-04T12:00:00Z"},
                                 headers=api.auth("casey"))).json()
    assert summer["quiet_families"] == ["adoption_decay"] and "adoption_decay" not in summer["thresholds_today"]


async def test_calendar_config_is_versioned_refused_in_words_and_read_only_for_its_own_accounts(api):
    current = (await api.http.get("/api/v1/config/account-calendars", headers=api.auth("casey"))).json()
    body = {k: current[k] for k in ("calendars", "by_motion", "by_account")}
    bad = await api.http.put("/api/v1/config/account-calendars", json={**body, "by_motion": {"academic": ["nope"]}},
                             headers=api.auth("rory"))
    assert bad.status_code == 422 and "unknown calendar(s): nope" in bad.json()["error"]["message"]
    assert (await api.http.put("/api/v1/config/account-calendars", json=body, headers=api.auth("casey"))).status_code == 403
    assert (await api.http.get("/api/v1/config/account-calendars", headers=api.auth("casey"))).json()["version"] == current["version"]

    elsewhere = await make_account(api, "cal-other", team={"csm": "dana"})
    hidden = await api.http.get(f"/api/v1/accounts/{elsewhere}/calendar", headers=api.auth("casey"))
    assert hidden.status_code == 404
