"""The work actions' pages over HTTP (issue 18, item 2): a forged post of each new form group is refused and changes
nothing, each page offers only the actions its reader may take, refusals keep what was typed, and a new token is
shown once, on a page no cache keeps."""

import html

import pytest

from tests.support.http import post_signal, unique
from tests.support.pages import csrf_of, signed_in
from tests.support.rituals import triggered_agenda
from tests.support.stack import ADMIN_TOKEN
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def draft_handoff(api, **fields) -> str:
    body = {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "casey", "fields": fields}
    response = await api.http.post("/api/v1/handoffs", json=body, headers=api.auth("alex"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def read(api, path: str, as_user: str = "admin"):
    response = await api.http.get(path, headers=api.auth(as_user))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_forged_post_of_each_new_form_is_refused_and_changes_nothing(api):
    signal_id = (await post_signal(api, family="adoption_decay", severity="warning")).json()["id"]  # casey's
    handoff_id = await draft_handoff(api)
    agenda_id = (await triggered_agenda(api, "at_risk_review"))["id"]
    new_user = unique("forged")
    posts = {
        "casey": [(f"/signals/{signal_id}/reassign", {"to_user_id": "lee", "reason": "on leave"}),
                  ("/accounts/acme/play-runs", {"play_key": "expansion"}),
                  (f"/agendas/{agenda_id}/action-items", {"title": "Call the champion", "owner_id": "casey"})],
        "alex": [("/handoffs", {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "casey"}),
                 (f"/handoffs/{handoff_id}/save", {"field.pain": "slow grading"}),
                 (f"/handoffs/{handoff_id}/submit", {})],
        "maya": [(f"/handoffs/{handoff_id}/override", {"reason": "the renewal cannot wait"})],
        "admin": [("/admin/users", {"id": new_user, "name": "Forged", "role": "admin"}),
                  ("/admin/users/casey/revoke", {}), ("/admin/users/casey/disable", {})],
    }
    runs_before = await read(api, "/api/v1/play-runs?account_id=acme&limit=500")
    audit_before = await read(api, f"/api/v1/handoffs/{handoff_id}/audit")
    for who, forms in posts.items():
        async with signed_in(api, ADMIN_TOKEN if who == "admin" else api.tokens[who]) as client:
            for url, data in forms:
                forged = await client.post(url, data={"csrf": "forged", **data})
                assert forged.status_code == 403, f"{who} {url}: {forged.status_code}"
                assert "this form has expired" in forged.text.lower(), url

    assert (await read(api, f"/api/v1/signals/{signal_id}"))["owners"] == ["casey"]
    assert len(await read(api, "/api/v1/play-runs?account_id=acme&limit=500")) == len(runs_before)
    assert (await read(api, f"/api/v1/agendas/{agenda_id}"))["action_items"] == []
    assert (await read(api, f"/api/v1/handoffs/{handoff_id}"))["status"] == "draft"
    assert await read(api, f"/api/v1/handoffs/{handoff_id}/audit") == audit_before
    assert (await api.http.get(f"/api/v1/users/{new_user}", headers=api.auth("admin"))).status_code == 404
    assert (await api.http.get("/api/v1/me/notifications", headers=api.auth("casey"))).status_code == 200


async def test_each_page_offers_only_the_actions_its_reader_may_take(api):
    signal_id = (await post_signal(api, family="adoption_decay", severity="warning")).json()["id"]  # casey's
    reassign = f'action="/signals/{signal_id}/reassign"'
    handoff_id = await draft_handoff(api)
    actions = {name: f'action="/handoffs/{handoff_id}/{name}"' for name in ("save", "submit", "accept", "reject", "override")}
    offers = {  # who reads the handoff's page → the actions it shows them
        "alex": {"save", "submit"},  # the sender, on a draft
        "casey": set(),  # the receiver, before it is submitted
        "maya": {"override"},  # a manager of both
        "sky": set(),  # on the account's team, nothing to do with it
    }
    for who, shown in offers.items():
        async with signed_in(api, api.tokens[who]) as client:
            page = (await client.get(f"/handoffs/{handoff_id}")).text
            assert {name for name, form in actions.items() if form in page} == shown, who
            signal_page = (await client.get(f"/signals/{signal_id}")).text
            assert (reassign in signal_page) == (who in ("casey", "maya")), who
            admin = await client.get("/admin/users")
            assert admin.status_code == 403 and 'href="/admin/users"' not in admin.text, who

    submitted = await api.http.post(f"/api/v1/handoffs/{handoff_id}/submit", headers=api.auth("alex"))
    assert submitted.status_code == 422  # nothing filled: still a draft
    filled = {name: "known" for name in ("buying_criteria", "champion_map", "procurement_timeline", "known_risks",
                                         "open_commitments", "related_signals")}
    assert (await api.http.patch(f"/api/v1/handoffs/{handoff_id}", json={"fields": filled},
                                 headers=api.auth("alex"))).status_code == 200
    assert (await api.http.post(f"/api/v1/handoffs/{handoff_id}/submit", headers=api.auth("alex"))).status_code == 200
    async with signed_in(api, api.tokens["casey"]) as casey:
        page = (await casey.get(f"/handoffs/{handoff_id}")).text
        assert {name for name, form in actions.items() if form in page} == {"accept", "reject"}
    agenda_id = (await triggered_agenda(api, "retro"))["id"]
    async with signed_in(api, api.tokens["casey"]) as casey:  # not a ritual runner: only takes items herself
        meeting = (await casey.get(f"/agendas/{agenda_id}/meeting")).text
        assert '<option value="casey"' in meeting and '<option value="lee"' not in meeting


async def test_a_refused_action_is_shown_in_words_and_keeps_what_was_typed(api):
    handoff_id = await draft_handoff(api, buying_criteria="LMS integration")
    async with signed_in(api, api.tokens["alex"]) as alex:
        page = await alex.get(f"/handoffs/{handoff_id}")
        csrf = csrf_of(page.text)
        typed = {"field.champion_map": "Dr. Reyes, provost", "field.buying_criteria": "LMS integration"}
        saved = await alex.post(f"/handoffs/{handoff_id}/save", data={"csrf": csrf, **typed})
        assert saved.status_code == 303
        refused = await alex.post(f"/handoffs/{handoff_id}/submit", data={"csrf": csrf})
        assert refused.status_code == 303
        shown = html.unescape((await alex.get(f"/handoffs/{handoff_id}")).text)
        assert "required fields missing for a ae_to_csm handoff: procurement_timeline, known_risks" in shown.lower()
        assert 'class="field field-missing' in shown and "Dr. Reyes, provost" in shown
    audit = await read(api, f"/api/v1/handoffs/{handoff_id}/audit")
    assert [e["action"] for e in audit] == ["created", "patched"] and audit[1]["fields_transferred"] == ["champion_map"]

    signal_id = (await post_signal(api, family="adoption_decay", severity="warning")).json()["id"]
    async with signed_in(api, api.tokens["casey"]) as casey:
        csrf = csrf_of((await casey.get(f"/signals/{signal_id}")).text)
        await casey.post(f"/signals/{signal_id}/reassign", data={"csrf": csrf, "to_user_id": "dana", "reason": ""})
        shown = html.unescape((await casey.get(f"/signals/{signal_id}")).text)
        assert "choose whom to hand it to, and say why" in shown.lower()
        assert '<option value="dana" selected>' in shown
        await casey.post(f"/signals/{signal_id}/reassign", data={"csrf": csrf, "to_user_id": "dana", "reason": "my leave"})
        assert "Reassigned to dana" in (await casey.get(f"/signals/{signal_id}")).text
    assert (await read(api, f"/api/v1/signals/{signal_id}"))["owners"] == ["dana"]


async def test_a_new_token_is_shown_once_on_a_page_no_cache_keeps(api):
    user_id = unique("jordan")
    async with signed_in(api, ADMIN_TOKEN) as admin:
        csrf = csrf_of((await admin.get("/admin/users")).text)
        created = await admin.post("/admin/users", data={"csrf": csrf, "id": user_id, "name": "Jordan Page",
                                                         "role": "csm", "manager_id": "lee"})
        assert created.status_code == 200 and "no-store" in created.headers["cache-control"]
        token = html.unescape(created.text).split('data-token', 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
        assert token.startswith("pl_") and user_id in created.text
        listing = await admin.get("/admin/users")
        assert user_id in listing.text and token not in listing.text
        assert (await api.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})).status_code == 200

        rotated = await admin.post(f"/admin/users/{user_id}/token", data={"csrf": csrf})
        assert rotated.status_code == 200 and "no-store" in rotated.headers["cache-control"]
        assert token not in rotated.text
        assert (await api.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        disabled = await admin.post(f"/admin/users/{user_id}/disable", data={"csrf": csrf})
        assert disabled.status_code == 303

    async def shows_disabled():
        async with signed_in(api, ADMIN_TOKEN) as admin:
            page = (await admin.get("/admin/users")).text
            row = page.split(f'id="user-{user_id}"', 1)[1].split("</tr>", 1)[0]
            return "st-disabled" in row and f'/admin/users/{user_id}/enable' in row

    assert await eventually(shows_disabled)


async def test_a_play_starts_from_the_account_page_and_a_signal_outside_its_entry_is_refused(api):
    signal_id = (await post_signal(api, family="adoption_decay", severity="warning")).json()["id"]
    async with signed_in(api, api.tokens["casey"]) as casey:
        async def offered():  # the account page reads its signals from the read model
            page = (await casey.get("/accounts/acme")).text
            return page if '<option value="renewal_save"' in page and f'<option value="{signal_id}"' in page else None

        csrf = csrf_of(await eventually(offered))
        refused = await casey.post("/accounts/acme/play-runs",
                                   data={"csrf": csrf, "play_key": "expansion", "signal_id": signal_id})
        assert refused.headers["location"] == "/accounts/acme"
        shown = html.unescape((await casey.get("/accounts/acme")).text)
        assert "Expansion does not start from a adoption_decay signal" in shown
        assert '<option value="expansion" selected>' in shown and f'<option value="{signal_id}" selected>' in shown
        started = await casey.post("/accounts/acme/play-runs",
                                   data={"csrf": csrf, "play_key": "renewal_save", "signal_id": signal_id})
        run_id = started.headers["location"].removeprefix("/runs/")
        assert "Renewal Save started" in (await casey.get(started.headers["location"])).text
    run = await read(api, f"/api/v1/play-runs/{run_id}")
    assert (run["play_key"], run["account_id"], run["signal_id"]) == ("renewal_save", "acme", signal_id)


async def test_a_meeting_captures_action_items_and_records_their_outcomes(api):
    agenda_id = (await triggered_agenda(api, "signal_triage"))["id"]
    meeting = f"/agendas/{agenda_id}/meeting"
    async with signed_in(api, api.tokens["maya"]) as maya:
        csrf = csrf_of((await maya.get(meeting)).text)
        item = {"csrf": csrf, "title": "Call Acme's new champion", "owner_id": "casey"}
        past = await maya.post(f"/agendas/{agenda_id}/action-items", data={**item, "due_date": "2020-01-01"})
        assert past.headers["location"] == meeting
        shown = html.unescape((await maya.get(meeting)).text)
        assert "is not in the future" in shown and "Call Acme's new champion" in shown  # refused, kept
        added = await maya.post(f"/agendas/{agenda_id}/action-items", data={**item, "due_date": "2099-01-30"})
        assert "Action item recorded" in (await maya.get(added.headers["location"])).text
    item = (await read(api, f"/api/v1/agendas/{agenda_id}"))["action_items"][0]
    assert (item["owner_id"], item["created_by"], item["due_at"][:10]) == ("casey", "maya", "2099-01-30")

    async with signed_in(api, api.tokens["casey"]) as casey:
        page = (await casey.get(meeting)).text
        assert f'action="/action-items/{item["id"]}/outcome"' in page  # hers to close
        recorded = await casey.post(f"/action-items/{item['id']}/outcome",
                                    data={"csrf": csrf_of(page), "outcome": "renewed", "next": meeting})
        assert recorded.headers["location"] == meeting
        after = (await casey.get(meeting)).text
        assert "Outcome recorded: Call Acme" in html.unescape(after) and f'action="/action-items/{item["id"]}/outcome"' not in after
