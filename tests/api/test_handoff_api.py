"""Seam 04 through the HTTP API, against a real Temporal dev server and worker: every status code, the audit trail,
the team change, the governance signal, the versioned specs and an acceptance SLA escalating on real timers."""

import uuid

import pytest

from tests.support.http import assert_error
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

COMPLETE = {
    "buying_criteria": ["LMS integration", "SSO"],
    "champion_map": {"champion": "Dr. Ruiz"},
    "procurement_timeline": "PO by March",
    "known_risks": ["budget freeze"],
    "open_commitments": ["SSO by Q2"],
    "related_signals": ["sig-1"],
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def new_account(api) -> str:
    """An account of its own per test, so team changes do not leak between tests."""
    account_id = unique("ho-acct")
    body = {"name": f"Account {account_id}", "arr": 50000, "team": {"ae": "alex", "csm": "casey", "sdr": "sam"}}
    response = await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))
    assert response.status_code == 200, response.text
    return account_id


async def new_user(api, role: str, manager_id: str | None = None) -> str:
    user_id = unique(role)
    body = {"id": user_id, "name": user_id, "role": role, "manager_id": manager_id}
    response = await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))
    assert response.status_code == 201, response.text
    api.tokens[user_id] = response.json()["token"]
    return user_id


async def create(api, account_id, fields=None, kind="ae_to_csm", to_user_id="lee", as_user="alex"):
    body = {"kind": kind, "account_id": account_id, "to_user_id": to_user_id, "fields": fields or {}}
    return await api.http.post("/api/v1/handoffs", json=body, headers=api.auth(as_user))


async def post(api, handoff_id, action, as_user, **body):
    return await api.http.post(f"/api/v1/handoffs/{handoff_id}/{action}", json=body or None, headers=api.auth(as_user))


async def test_a_handoff_through_the_gate_to_acceptance_with_its_audit_trail(api):
    account_id = await new_account(api)
    receiver = await new_user(api, "csm", manager_id="lee")
    response = await create(api, account_id, {"buying_criteria": ["SSO"], "known_risks": []}, to_user_id=receiver)
    assert response.status_code == 201, response.text
    handoff = response.json()
    assert handoff["status"] == "draft" and handoff["from_user_id"] == "alex" and handoff["to_user_id"] == receiver
    assert handoff["kind"] == "ae_to_csm" and handoff["workflow_id"] == f"handoff-{handoff['id']}"
    assert handoff["missing_fields"] == ["champion_map", "procurement_timeline", "known_risks", "open_commitments", "related_signals"]
    url = f"/api/v1/handoffs/{handoff['id']}"

    refused = await post(api, handoff["id"], "submit", "alex")
    error = assert_error(refused, 422, "invalid", "champion_map")
    assert error["details"] == {"missing_fields": handoff["missing_fields"]}
    assert refused.json()["missing_fields"] == handoff["missing_fields"]

    assert_error(await api.http.patch(url, json={"fields": COMPLETE}, headers=api.auth(receiver)), 403, "forbidden", "sender")
    assert_error(await api.http.patch(url, json={"fields": {}}, headers=api.auth("alex")), 422, "invalid", "fields")
    assert_error(await post(api, handoff["id"], "accept", receiver), 409, "conflict", "draft")
    patched = await api.http.patch(url, json={"fields": COMPLETE}, headers=api.auth("alex"))
    assert patched.status_code == 200 and patched.json()["missing_fields"] == []

    submitted = await post(api, handoff["id"], "submit", "alex")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert_error(await post(api, handoff["id"], "submit", "alex"), 409, "conflict", "submitted")

    async def requested():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth(receiver))).json()
        return [n for n in notes if n["subject_id"] == handoff["id"] and n["kind"] == "handoff_request"]

    assert (await eventually(requested))[0]["subject_type"] == "handoff"
    assert_error(await post(api, handoff["id"], "accept", "casey"), 403, "forbidden", "receiver")
    accepted = await post(api, handoff["id"], "accept", receiver)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert_error(await post(api, handoff["id"], "reject", receiver, reason="too late"), 409, "conflict", "accepted")

    context = (await api.http.get(url, headers=api.auth(receiver))).json()
    assert context["fields"] == COMPLETE and context["status"] == "accepted"
    team = (await api.http.get(f"/api/v1/accounts/{account_id}", headers=api.auth(receiver))).json()["team"]
    assert team == {"ae": "alex", "csm": receiver, "sdr": "sam"}

    async def trail():
        rows = (await api.http.get(f"{url}/audit", headers=api.auth("maya"))).json()
        return rows if [r["action"] for r in rows] == ["created", "patched", "submitted", "accepted"] else None

    rows = await eventually(trail)
    assert set(rows[0]) >= {"at", "actor_id", "action", "from_user_id", "to_user_id", "fields_transferred"}
    assert all(r["from_user_id"] == "alex" and r["to_user_id"] == receiver for r in rows)
    assert rows[0]["fields_transferred"] == ["buying_criteria"]
    assert rows[3]["actor_id"] == receiver and rows[3]["fields_transferred"] == sorted(COMPLETE)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    for method in ("PUT", "PATCH", "DELETE"):
        response = await api.http.request(method, f"{url}/audit", json=[], headers=api.auth("admin"))
        assert response.status_code == 405

    async def listed(**params):
        found = (await api.http.get("/api/v1/handoffs", params=params, headers=api.auth("maya"))).json()
        return [h for h in found if h["id"] == handoff["id"]]

    assert await eventually(lambda: listed(status="accepted", account_id=account_id, to_user_id=receiver))
    assert await listed(status="draft") == [] and await listed(to_user_id="casey") == []


async def test_reject_sends_it_back_to_the_sender_with_the_reason(api):
    account_id = await new_account(api)
    handoff = (await create(api, account_id, COMPLETE)).json()
    assert (await post(api, handoff["id"], "submit", "alex")).status_code == 200
    assert_error(await post(api, handoff["id"], "reject", "lee", reason=""), 422, "invalid", "reason")
    assert_error(await post(api, handoff["id"], "reject", "alex", reason="no"), 403, "forbidden", "receiver")
    rejected = await post(api, handoff["id"], "reject", "lee", reason="risks are vague")
    assert rejected.status_code == 200 and rejected.json()["status"] == "draft"

    async def told():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth("alex"))).json()
        return [n for n in notes if n["subject_id"] == handoff["id"] and n["kind"] == "handoff_rejected"]

    assert "risks are vague" in (await eventually(told))[0]["text"]
    resubmitted = await post(api, handoff["id"], "submit", "alex")
    assert resubmitted.status_code == 200 and resubmitted.json()["status"] == "submitted"
    audit = (await api.http.get(f"/api/v1/handoffs/{handoff['id']}/audit", headers=api.auth("alex"))).json()
    assert [r["action"] for r in audit][:3] == ["created", "submitted", "rejected"]


async def test_a_managers_override_fires_a_governance_signal_for_the_account(api):
    account_id = await new_account(api)
    receiver = await new_user(api, "csm", manager_id="lee")
    handoff = (await create(api, account_id, {"buying_criteria": ["SSO"]}, to_user_id=receiver)).json()
    outsider = await new_user(api, "manager")
    assert_error(await post(api, handoff["id"], "override", "casey", reason="x"), 403, "forbidden", "manager")
    # a manager outside the account and the handoff may not even see it (per-account visibility: 404, not 403)
    assert_error(await post(api, handoff["id"], "override", outsider, reason="x"), 404, "not_found")
    assert_error(await post(api, handoff["id"], "override", "maya", reason=""), 422, "invalid", "reason")

    response = await post(api, handoff["id"], "override", "maya", reason="renewal call tomorrow")
    assert response.status_code == 200, response.text
    overridden = response.json()
    assert overridden["status"] == "overridden" and overridden["governance_signal_id"]
    assert_error(await post(api, handoff["id"], "override", "maya", reason="again"), 409, "conflict", "overridden")

    signal = (await api.http.get(f"/api/v1/signals/{overridden['governance_signal_id']}", headers=api.auth("maya"))).json()
    assert signal["family"] == "handoff_governance_violation" and signal["account_id"] == account_id
    assert signal["owners"] == ["maya"] and signal["evidence"]["handoff_id"] == handoff["id"]
    assert signal["evidence"]["missing_fields"] == handoff["missing_fields"]
    team = (await api.http.get(f"/api/v1/accounts/{account_id}", headers=api.auth("maya"))).json()["team"]
    assert team["csm"] == receiver

    async def trail():
        rows = (await api.http.get(f"/api/v1/handoffs/{handoff['id']}/audit", headers=api.auth("maya"))).json()
        return rows if len(rows) == 3 else None

    rows = await eventually(trail)
    assert [r["action"] for r in rows] == ["created", "overridden", "governance_signal"]
    assert rows[1]["actor_id"] == "maya"


async def test_refused_requests_say_what_is_wrong_and_start_nothing(api):
    account_id = await new_account(api)
    body = {"kind": "ae_to_csm", "account_id": account_id, "to_user_id": "lee", "fields": {}}
    assert_error(await api.http.post("/api/v1/handoffs", json=body), 401, "unauthorized")
    assert_error(await create(api, account_id, as_user="casey"), 403, "forbidden", "ae")
    assert_error(await create(api, account_id, kind="ae_to_moon"), 422, "invalid", "ae_to_moon")
    assert_error(await create(api, "nowhere"), 422, "invalid", "nowhere")
    assert_error(await create(api, account_id, to_user_id="ghost"), 422, "invalid", "ghost")
    assert_error(await create(api, account_id, to_user_id="sky"), 422, "invalid", "support")
    assert_error(await create(api, account_id, kind="Bad Kind"), 422, "invalid", "kind")
    workflows = [w async for w in api.client.list_workflows(f"PillarAccountId = '{account_id}'")]
    assert workflows == []
    assert (await api.http.get("/api/v1/handoffs", params={"account_id": account_id}, headers=api.auth("maya"))).json() == []

    for path in ("/api/v1/handoffs/ho-missing", "/api/v1/handoffs/ho-missing/audit"):
        assert_error(await api.http.get(path, headers=api.auth("maya")), 404, "not_found")
    assert_error(await post(api, "ho-missing", "submit", "alex"), 404, "not_found")
    assert_error(await post(api, "ho-missing", "override", "maya", reason="x"), 404, "not_found")


async def test_handoff_specs_are_versioned_and_an_acceptance_sla_escalates_on_real_timers(api):
    current = (await api.http.get("/api/v1/config/handoffs", headers=api.auth("casey"))).json()
    kinds = {spec["kind"]: spec for spec in current["specs"]}
    assert set(kinds) >= {"ae_to_csm", "csm_to_support", "sdr_to_ae"}
    assert kinds["ae_to_csm"]["required_fields"] == list(COMPLETE) and kinds["ae_to_csm"]["team_change"] == {"role": "csm"}
    assert kinds["sdr_to_ae"]["required_fields"] == ["pain", "buying_criteria", "champion_map", "next_meeting"]

    ping = {"kind": "demo_ping", "required_fields": ["note"], "sender_roles": ["ae"], "receiver_roles": ["csm"],
            "acceptance_sla": "PT2S", "escalation": [{"after": "PT0S", "to": "manager"}], "team_change": None}
    specs = [s for s in current["specs"] if s["kind"] != "demo_ping"] + [ping]
    assert_error(await api.http.put("/api/v1/config/handoffs", json={"specs": specs}, headers=api.auth("casey")), 403, "forbidden")
    for bad, words in (({"specs": specs + [ping]}, "two specs"), ({"specs": [{**ping, "acceptance_sla": "soon"}]}, "ISO-8601"),
                       ({"specs": [{**ping, "required_fields": []}]}, "required_fields")):
        assert_error(await api.http.put("/api/v1/config/handoffs", json=bad, headers=api.auth("rory")), 422, "invalid", words)
    response = await api.http.put("/api/v1/config/handoffs", json={"specs": specs}, headers=api.auth("rory"))
    assert response.status_code == 200 and response.json()["version"] == current["version"] + 1
    old = (await api.http.get(f"/api/v1/config/handoffs/{current['version']}", headers=api.auth("casey"))).json()
    assert old["specs"] == current["specs"]
    assert_error(await api.http.get("/api/v1/config/handoffs/9999", headers=api.auth("casey")), 404, "not_found")

    account_id = await new_account(api)
    handoff = (await create(api, account_id, {"note": "over to you"}, kind="demo_ping", to_user_id="casey")).json()
    assert (await post(api, handoff["id"], "submit", "alex")).status_code == 200

    async def escalated():
        detail = (await api.http.get(f"/api/v1/handoffs/{handoff['id']}", headers=api.auth("lee"))).json()
        return detail if detail["escalation_level"] == 1 else None

    detail = await eventually(escalated, timeout=30)
    assert detail["escalated_to"] == ["lee"] and detail["status"] == "submitted"

    async def lee_paged():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth("lee"))).json()
        return [n for n in notes if n["subject_id"] == handoff["id"] and n["kind"] == "escalation"]

    assert await eventually(lee_paged)
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for path in ["/api/v1/handoffs", "/api/v1/handoffs/{handoff_id}", "/api/v1/handoffs/{handoff_id}/submit",
                 "/api/v1/handoffs/{handoff_id}/accept", "/api/v1/handoffs/{handoff_id}/reject",
                 "/api/v1/handoffs/{handoff_id}/override", "/api/v1/handoffs/{handoff_id}/audit",
                 "/api/v1/config/handoffs", "/api/v1/config/handoffs/{version}"]:
        assert path in paths


async def _idle(handle) -> bool:
    description = (await handle.describe()).raw_description
    return not description.pending_activities and not description.HasField("pending_workflow_task")


async def test_a_refused_submit_leaves_the_history_untouched(api):
    from services.handoffs import handoff_handle

    account_id = await new_account(api)
    handoff = (await create(api, account_id, {"pain": "unused"})).json()
    handle = handoff_handle(api.client, handoff["id"])
    await eventually(lambda: _idle(handle))
    before = (await handle.fetch_history()).events

    assert_error(await post(api, handoff["id"], "submit", "alex"), 422, "invalid", "buying_criteria")
    assert_error(await post(api, handoff["id"], "submit", "lee"), 403, "forbidden", "sender")
    assert (await handle.fetch_history()).events == before


async def test_only_the_holder_of_the_sender_role_on_that_account_or_their_manager_sends_a_handoff(api):
    """Issue 15 item 3: an ae who is not this account's ae may not hand its csm seat to anyone (acceptance would
    rewrite the team); the account's ae and that ae's manager may."""
    other_ae = await new_user(api, "ae", manager_id="maya")
    account_id = unique("ho-acct")
    body = {"name": account_id, "arr": 50000, "team": {"ae": "alex", "csm": "casey", "support": other_ae}}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    assert_error(await create(api, account_id, as_user=other_ae), 403, "forbidden", "alex", "or their manager")
    assert_error(await create(api, account_id, as_user="casey"), 403, "forbidden", "ae")
    assert (await create(api, account_id, as_user="alex")).status_code == 201
    by_manager = await create(api, account_id, as_user="maya")
    assert by_manager.status_code == 201 and by_manager.json()["from_user_id"] == "maya", by_manager.text


async def test_a_team_change_pages_the_person_it_displaces(api):
    account_id = await new_account(api)  # casey is its csm
    receiver = await new_user(api, "csm", manager_id="lee")
    handoff = (await create(api, account_id, COMPLETE, to_user_id=receiver)).json()
    assert (await post(api, handoff["id"], "submit", "alex")).status_code == 200
    assert (await post(api, handoff["id"], "accept", receiver)).status_code == 200

    async def paged():
        rows = (await api.http.get("/api/v1/me/notifications", headers=api.auth("casey"))).json()
        return [r for r in rows if r["kind"] == "team_change" and r["subject_id"] == account_id]

    [page] = await eventually(paged)
    assert page["subject_type"] == "account" and receiver in page["text"] and "no longer the csm" in page["text"]
