"""A ritual meeting's decisions over HTTP and on the meeting page: the Friday retro's pattern decided (dismissed
needs a reason), refused for who does not run rituals, and shown as "decisions recorded N of M"; a Tuesday 1:1's
blocker on a commit and the help an at-risk renewal needs, shown on the printable agenda."""

import html
from datetime import UTC, datetime, timedelta

import pytest

from services.demo_book import RENEWAL_LEAD, week_end
from tests.support.accounts import make_account
from tests.support.events import bad_week, baseline
from tests.support.http import assert_error, unique
from tests.support.pages import csrf_of, signed_in
from tests.support.rituals import triggered_agenda

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_retro_records_its_decision_on_the_pattern_over_http_and_on_the_meeting_page(api):
    agenda = await triggered_agenda(api, "retro")
    url = f"/api/v1/agendas/{agenda['id']}/decisions"
    assert agenda["proposed_pattern"] and agenda["decisions_expected"] == 1
    for who, body, status, code, words in (
        ("casey", {"ref_id": "pattern", "decision": "dismissed", "reason": "x"}, 403, "forbidden", ()),
        ("maya", {"ref_id": "pattern", "decision": "dismissed"}, 422, "invalid", ("reason",)),
        ("maya", {"ref_id": "pattern", "decision": "vibes"}, 422, "invalid", ("retro decides",)),
        ("maya", {"ref_id": "acme", "decision": "dismissed", "reason": "x"}, 422, "invalid", ("no decidable item",)),
        ("maya", {"ref_id": "pattern", "decision": "dismissed", "reason": "x" * 2001}, 422, "invalid", ("reason",)),
        ("maya", {"ref_id": "pattern", "decision": "maybe"}, 422, "invalid", ()),
    ):
        assert_error(await api.http.post(url, json=body, headers=api.auth(who)), status, code, *words)
    assert_error(await api.http.post("/api/v1/agendas/agd-nope/decisions", json={"ref_id": "pattern", "decision": "dismissed",
                                     "reason": "x"}, headers=api.auth("maya")), 404, "not_found")

    decided = await api.http.post(url, json={"ref_id": "pattern", "decision": "dismissed", "reason": "a quiet week, not a trend"},
                                  headers=api.auth("maya"))
    assert decided.status_code == 201, decided.text
    assert (decided.json()["decision"], decided.json()["decided_by"]) == ("dismissed", "maya")
    shown = (await api.http.get(f"/api/v1/agendas/{agenda['id']}", headers=api.auth("casey"))).json()
    assert [(d["ref_id"], d["reason"]) for d in shown["decisions"]] == [("pattern", "a quiet week, not a trend")]

    meeting = f"/agendas/{agenda['id']}/meeting"
    async with signed_in(api, api.tokens["lee"]) as lee:
        page = html.unescape((await lee.get(meeting)).text)
        assert "Decisions recorded 1 of 1" in page and "a quiet week, not a trend" in page
        refused = await lee.post(f"/agendas/{agenda['id']}/decisions",
                                 data={"csrf": csrf_of(page), "ref_id": "pattern", "decision": "dismissed"})
        assert "dismissed needs a reason" in html.unescape((await lee.get(refused.headers["location"])).text).lower()
        recorded = await lee.post(f"/agendas/{agenda['id']}/decisions", data={
            "csrf": csrf_of(page), "ref_id": "pattern", "decision": "dismissed", "reason": "seen it before"})
        assert "Decision recorded: pattern dismissed" in (await lee.get(recorded.headers["location"])).text
    shown = (await api.http.get(f"/api/v1/agendas/{agenda['id']}", headers=api.auth("maya"))).json()
    assert [(d["decided_by"], d["reason"]) for d in shown["decisions"]] == [("lee", "seen it before")]
    async with signed_in(api, api.tokens["casey"]) as casey:  # she does not run rituals: no decision form
        assert f'action="/agendas/{agenda["id"]}/decisions"' not in (await casey.get(meeting)).text


async def test_a_1_1_records_a_blocker_on_a_commit_and_the_help_a_renewal_needs(api):
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(weeks=9)
    start -= timedelta(days=start.weekday())  # the bad week ended a week or two ago
    account_id = await make_account(api, "one-on-one", renewal_date=(week_end(start) + RENEWAL_LEAD).date().isoformat())
    opportunity_id = unique("opp-commit")
    deal = {"kind": "crm_stage_change", "account_id": account_id, "occurred_at": (week_end(start) - timedelta(days=2)).isoformat(),
            "opportunity_id": opportunity_id, "stage": "commit", "amount": 150_000, "external_id": "crm-commit"}
    events = baseline(account_id, start) + bad_week(account_id, start) + [deal]
    loaded = await api.http.post("/api/v1/events/batch", json={"events": events}, headers=api.auth("rory"))
    assert loaded.status_code == 201, loaded.text

    agenda = await triggered_agenda(api, "execution_one_on_ones", own=True)
    sections = {s["owner_id"]: s["items"] for s in agenda["sections"]}
    [commit] = [i for i in sections["alex"] if i["account_id"] == account_id]  # the AE's commit, the CSM's renewal
    [renewal] = [i for i in sections["casey"] if i["account_id"] == account_id]
    assert (commit["kind"], commit["ref_id"], renewal["kind"], renewal["ref_id"]) == ("commit", opportunity_id, "renewal", account_id)
    assert commit["score"] == commit["facts"]["forecast_confidence"] and commit["why"].startswith("forecast confidence")
    assert renewal["facts"]["risk_tier"] == "critical" and renewal["facts"]["arr_at_risk"] == 180_000
    assert renewal["why"].startswith(f"renewal risk {renewal['score']:g} (critical)")

    url = f"/api/v1/agendas/{agenda['id']}/decisions"
    assert_error(await api.http.post(url, json={"ref_id": opportunity_id, "decision": "blocked"}, headers=api.auth("maya")),
                 422, "invalid", "reason")
    assert_error(await api.http.post(url, json={"ref_id": account_id, "decision": "evidenced"}, headers=api.auth("maya")),
                 422, "invalid", "execution_one_on_ones decides")
    for ref_id, decision, reason in ((opportunity_id, "blocked", "procurement wants a new security review"),
                                     (account_id, "help_needed", "an executive sponsor for the provost meeting")):
        decided = await api.http.post(url, json={"ref_id": ref_id, "decision": decision, "reason": reason}, headers=api.auth("lee"))
        assert decided.status_code == 201, decided.text
    shown = (await api.http.get(f"/api/v1/agendas/{agenda['id']}", headers=api.auth("casey"))).json()
    assert {d["ref_id"]: (d["decision"], d["decided_by"]) for d in shown["decisions"]} == {
        opportunity_id: ("blocked", "lee"), account_id: ("help_needed", "lee")}
    printed = html.unescape((await api.http.get(f"/api/v1/agendas/{agenda['id']}.html", headers=api.auth("casey"))).text)
    assert f"Decisions recorded 2 of {shown['decisions_expected']}" in printed
    assert "procurement wants a new security review" in printed and "<strong>help needed</strong>" in printed
