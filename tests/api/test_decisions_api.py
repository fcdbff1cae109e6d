"""A ritual meeting's decisions over HTTP and on the meeting page: the Friday retro's pattern decided (dismissed
needs a reason), refused for who does not run rituals, and shown as "decisions recorded N of M"."""

import html

import pytest

from tests.support.http import assert_error
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
