"""Team calendars through the HTTP API (issue 19): versioned config, refusals as 422, and a business-hours rule whose
signal is due inside its team's working hours."""

from datetime import datetime

import httpx
import pytest

from models.calendars import zone
from tests.support.http import assert_error, post_signal, unique
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

EMEA = {"name": "emea", "time_zone": "Europe/Berlin", "opens": "09:00", "closes": "17:00",
        "holidays": {"country": "DE", "subdivision": "BE"}, "closures": ["2026-12-31"]}
APAC = {"name": "apac", "time_zone": "Asia/Tokyo", "opens": "10:00", "closes": "18:00",
        "working_days": ["monday", "tuesday", "wednesday", "thursday", "friday"]}


async def put_calendars(api, body, as_user="rory"):
    return await api.http.put("/api/v1/config/calendars", json=body, headers=api.auth(as_user))


async def test_calendars_are_versioned_config_with_a_default(api):
    shipped = (await api.http.get("/api/v1/config/calendars", headers=api.auth("casey"))).json()
    assert shipped["default"] in [c["name"] for c in shipped["calendars"]]

    response = await put_calendars(api, {"calendars": [EMEA, APAC], "default": "emea", "assignments": {"maya": "apac"}})
    assert response.status_code == 200, response.text
    version = response.json()["version"]
    assert version > shipped["version"]
    latest = (await api.http.get("/api/v1/config/calendars", headers=api.auth("casey"))).json()
    assert latest["version"] == version and latest["assignments"] == {"maya": "apac"}
    assert latest["calendars"][0]["holidays"] == {"country": "DE", "subdivision": "BE"}
    old = (await api.http.get(f"/api/v1/config/calendars/{shipped['version']}", headers=api.auth("casey"))).json()
    assert old["calendars"] == shipped["calendars"]
    assert_error(await put_calendars(api, {"calendars": [EMEA]}, as_user="casey"), 403, "forbidden")


@pytest.mark.parametrize("change", [{"time_zone": "Europe/Atlantis"}, {"opens": "17:00", "closes": "09:00"},
                                    {"holidays": {"country": "ZZ"}}, {"working_days": ["caturday"]}, {"name": "a b"}])
async def test_a_bad_calendar_is_a_422_and_writes_no_version(api, change):
    before = (await api.http.get("/api/v1/config/calendars", headers=api.auth("rory"))).json()["version"]
    assert_error(await put_calendars(api, {"calendars": [{**EMEA, **change}], "default": "emea"}), 422, "invalid")
    assert (await api.http.get("/api/v1/config/calendars", headers=api.auth("rory"))).json()["version"] == before


async def put_rule(api, **rule):
    current = (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()
    rules = [r for r in current["rules"] if r["family"] != rule["family"]] + [rule]
    return await api.http.put("/api/v1/config/routing", json={"rules": rules}, headers=api.auth("rory"))


@pytest.mark.parametrize("change, words", [({"warn_at": 1}, "warn_at"), ({"warn_at": 0}, "warn_at"),
                                           ({"repage_after": "P500D"}, "repage_after"), ({"clock": "lunar"}, "clock"),
                                           ({"calendar": "nowhere"}, "no calendar named 'nowhere'")])
async def test_a_routing_rule_with_bad_clock_fields_is_a_422(api, change, words):
    rule = {"family": "clock_check", "severity": "info", "owners": ["csm"], "sla": "PT4H", **change}
    error = assert_error(await put_rule(api, **rule), 422, "invalid")
    assert words in str(error), error


async def test_a_business_hours_signal_is_due_inside_its_team_s_working_hours(api):
    assert (await put_calendars(api, {"calendars": [EMEA, APAC], "default": "emea",
                                      "assignments": {"maya": "apac"}})).status_code == 200
    family = unique("office_hours").replace("-", "_")
    rule = {"family": family, "severity": "info", "owners": ["csm"], "sla": "PT4H", "escalation": [], "clock": "business",
            "warn_at": 0.75, "repage_after": "PT2H"}
    response = await put_rule(api, **rule)
    assert response.status_code == 200, response.text
    assert rule in (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()["rules"]

    # the owner is casey; above her (lee, then maya) maya's team works on apac: Tokyo, 10:00-18:00, Monday to Friday
    created = (await post_signal(api, family=family, severity="info")).json()
    due = datetime.fromisoformat(created["sla_due_at"]).astimezone(zone("Asia/Tokyo"))
    assert due.weekday() < 5 and (10, 0) <= (due.hour, due.minute) <= (18, 0), due
    detail = (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("casey"))).json()
    assert "business hours on calendar apac" in detail["timeline"][0]["detail"]

    # the rule's own calendar wins over the team's
    assert (await put_rule(api, **{**rule, "calendar": "emea"})).status_code == 200
    created = (await post_signal(api, family=family, severity="info")).json()
    due = datetime.fromisoformat(created["sla_due_at"]).astimezone(zone("Europe/Berlin"))
    assert due.weekday() < 5 and (9, 0) <= (due.hour, due.minute) <= (17, 0), due


async def test_the_warning_and_the_re_page_reach_the_inbox_on_real_timers(api):
    """On the dev server, seconds-long: a warning at half the SLA, then (acknowledged, no task) a re-page, then the
    manager; the owner's notifications and inbox page show them."""
    family = unique("warned").replace("-", "_")
    rule = {"family": family, "severity": "info", "owners": ["csm"], "sla": "PT6S", "warn_at": 0.5, "repage_after": "PT2S"}
    assert (await put_rule(api, **rule)).status_code == 200
    created = (await post_signal(api, family=family, severity="info")).json()

    async def page(user, kind):
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth(user))).json()
        return next((n["text"] for n in notes if n["subject_id"] == created["id"] and n["kind"] == kind), None)

    warning = await eventually(lambda: page("casey", "sla_warning"), what="the warning")
    assert warning.startswith("Due in ") and family in warning
    response = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("casey"))
    assert response.status_code == 200, response.text
    await eventually(lambda: page("casey", "repage"), what="the re-page")
    await eventually(lambda: page("lee", "escalation"), what="the page to casey's manager")
    detail = (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("casey"))).json()
    assert {"sla_warning", "acknowledged", "repaged", "repage_escalated"} <= {e["type"] for e in detail["timeline"]}
    assert "sla_lapsed" not in {e["type"] for e in detail["timeline"]}

    from api.main import app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test",
                                 headers={"Accept": "text/html"}) as browser:
        signed = await browser.post("/sign-in", data={"token": api.tokens["casey"], "next": "/inbox"})
        assert signed.status_code == 303, signed.text
        inbox = (await browser.get("/inbox")).text
    assert "note-sla_warning" in inbox and "note-repage" in inbox
