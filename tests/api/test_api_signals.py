"""Seam 01 through the HTTP API, against a real Temporal dev server and worker."""

import asyncio
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from services.signals import signal_handle
from tests.support.http import assert_error, post_signal, unique
from tests.support.signals import signal_idle
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


# --- identity ---------------------------------------------------------------------------------------


async def test_missing_or_unknown_token_is_401(api):
    assert_error(await api.http.get("/api/v1/me/notifications"), 401, "unauthorized", "bearer")
    response = await api.http.get("/api/v1/me/notifications", headers={"Authorization": "Bearer nope"})
    assert_error(response, 401, "unauthorized")


async def test_admin_creates_a_user_whose_token_works_once_shown(api):
    user_id = unique("ada")
    body = {"id": user_id, "name": "Ada", "role": "csm", "manager_id": "maya", "email": "ada@example.com"}
    response = await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] == user_id and created["role"] == "csm" and created["manager_id"] == "maya"
    token = created["token"]
    mine = await api.http.get("/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and mine.json() == []
    listed = await api.http.get(f"/api/v1/users/{user_id}", headers=api.auth("admin"))
    assert "token" not in listed.json()

    assert_error(await api.http.post("/api/v1/users", json=body, headers=api.auth("admin")), 409, "conflict", user_id)


async def test_user_creation_refusals(api):
    ok = {"id": unique("u"), "name": "U", "role": "ae"}
    assert_error(await api.http.post("/api/v1/users", json=ok, headers=api.auth("casey")), 403, "forbidden", "admin")
    bad_role = {**ok, "role": "wizard"}
    assert_error(await api.http.post("/api/v1/users", json=bad_role, headers=api.auth("admin")), 422, "invalid", "role")
    bad_manager = {**ok, "manager_id": "ghost"}
    assert_error(await api.http.post("/api/v1/users", json=bad_manager, headers=api.auth("admin")), 422, "invalid", "ghost")
    missing = await api.http.get(f"/api/v1/users/{ok['id']}", headers=api.auth("admin"))
    assert_error(missing, 404, "not_found")


# --- directory and config -----------------------------------------------------------------------------


async def test_accounts_are_put_by_admin_or_revops_only(api):
    account_id = unique("acct")
    body = {"name": "Umbrella", "arr": 120000, "motion": "academic", "segment": "enterprise",
            "renewal_date": "2027-05-01", "team": {"ae": "alex", "csm": "casey"}}
    response = await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("rory"))
    assert response.status_code == 200, response.text
    assert response.json() == {"id": account_id, **body}
    assert_error(await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("casey")), 403, "forbidden")
    ghost_team = {**body, "team": {"ae": "ghost"}}
    assert_error(await api.http.put(f"/api/v1/accounts/{account_id}", json=ghost_team, headers=api.auth("rory")), 422, "invalid", "ghost")
    bad_role = {**body, "team": {"wizard": "alex"}}
    assert_error(await api.http.put(f"/api/v1/accounts/{account_id}", json=bad_role, headers=api.auth("rory")), 422, "invalid")
    negative = {**body, "arr": -1}
    assert_error(await api.http.put(f"/api/v1/accounts/{account_id}", json=negative, headers=api.auth("rory")), 422, "invalid", "arr")


async def test_routing_is_versioned_and_validated(api):
    current = (await api.http.get("/api/v1/config/routing", headers=api.auth("casey"))).json()
    assert {"family": "renewal_risk", "severity": "critical", "owners": ["csm_lead", "ae"], "sla": "PT4H",
            "escalation": [{"after": "PT0S", "to": "manager"}, {"after": "PT4H", "to": "vp"}]} in current["rules"]

    rules = current["rules"]
    response = await api.http.put("/api/v1/config/routing", json={"rules": rules}, headers=api.auth("rory"))
    assert response.status_code == 200
    new_version = response.json()["version"]
    assert new_version == current["version"] + 1
    old = await api.http.get(f"/api/v1/config/routing/{current['version']}", headers=api.auth("casey"))
    assert old.json()["version"] == current["version"] and old.json()["rules"] == rules
    assert_error(await api.http.get("/api/v1/config/routing/9999", headers=api.auth("casey")), 404, "not_found")

    def with_rule(**change):
        return {"rules": [{**rules[0], **change}] + rules[1:]}

    cases = [
        (with_rule(sla="4 hours"), "ISO-8601"),
        (with_rule(sla="P1M"), "ISO-8601"),
        (with_rule(owners=["wizard"]), "owners"),
        (with_rule(escalation=[{"after": "PT1H", "to": "nobody"}]), "escalation"),
        ({"rules": rules + [rules[0]]}, "two rules for family 'renewal_risk'"),
        ({"rules": []}, "rules"),
    ]
    for body, words in cases:
        response = await api.http.put("/api/v1/config/routing", json=body, headers=api.auth("rory"))
        assert_error(response, 422, "invalid", words)
    assert_error(await api.http.put("/api/v1/config/routing", json={"rules": rules}, headers=api.auth("casey")), 403, "forbidden")
    latest = (await api.http.get("/api/v1/config/routing", headers=api.auth("casey"))).json()
    assert latest["version"] == new_version


# --- signals --------------------------------------------------------------------------------------------


async def test_a_signal_is_routed_paged_listed_and_acknowledged(api):
    response = await post_signal(api, evidence={"usage_drop": 0.35})
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["owners"] == ["lee", "alex"] and created["workflow_id"] == f"signal-{created['id']}"
    assert created["routing_version"] >= 1 and created["sla_due_at"].endswith(("Z", "+00:00"))

    detail = (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("casey"))).json()
    assert detail["status"] == "open" and detail["escalation_level"] == 0 and detail["timeline"][0]["type"] == "created"
    assert detail["evidence"] == {"usage_drop": 0.35}

    async def paged():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth("lee"))).json()
        return [n for n in notes if n["subject_id"] == created["id"] and n["kind"] == "page"]

    note = (await eventually(paged))[0]
    assert set(note) == {"id", "at", "kind", "subject_type", "subject_id", "text"} and note["subject_type"] == "signal"

    async def listed(**params):
        rows = (await api.http.get("/api/v1/signals", params=params, headers=api.auth("maya"))).json()
        return [r for r in rows if r["id"] == created["id"]]

    assert await eventually(lambda: listed(owner_id="alex", status="open", account_id="acme"))
    assert await listed(owner_id="casey") == []
    assert "timeline" not in (await listed())[0]

    ack = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("alex"))
    assert ack.status_code == 200, ack.text
    assert ack.json()["status"] == "acknowledged" and "task_candidates" in ack.json()
    again = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("lee"))
    assert_error(again, 409, "conflict", "acknowledged")
    assert await eventually(lambda: listed(status="acknowledged"))


async def test_a_refused_acknowledgement_leaves_the_history_untouched(api):
    created = (await post_signal(api)).json()
    handle = signal_handle(api.client, created["id"])
    await eventually(lambda: signal_idle(handle))
    before = (await handle.fetch_history()).events

    response = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("casey"))
    assert_error(response, 403, "forbidden", "owner")
    assert (await handle.fetch_history()).events == before


async def test_dedup_key_answers_the_same_signal_without_a_second_workflow(api):
    key = unique("usage-drop-acme")
    first = await post_signal(api, dedup_key=key)
    second = await post_signal(api, dedup_key=key)
    assert first.status_code == 202 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["owners"] == first.json()["owners"]
    query = f"WorkflowId = '{first.json()['workflow_id']}'"
    assert len([w async for w in api.client.list_workflows(query)]) <= 1
    count = await api.client.count_workflows(query)
    assert count.count <= 1


async def test_signal_refusals_say_what_is_wrong_and_start_nothing(api):
    key = unique("refused")
    assert_error(await post_signal(api, account_id="nowhere", dedup_key=key), 422, "invalid", "unknown account 'nowhere'")
    assert_error(await post_signal(api, family="moon_phase", dedup_key=key), 422, "invalid", "no routing rule", "moon_phase")
    assert_error(await post_signal(api, severity="catastrophic", dedup_key=key), 422, "invalid", "severity")
    assert_error(await post_signal(api, family="Bad Family!", dedup_key=key), 422, "invalid", "family")
    from services.signals import CALLER_KEYS, signal_id_for

    workflows = [w async for w in api.client.list_workflows(f"WorkflowId = 'signal-{signal_id_for(key, CALLER_KEYS)}'")]
    assert workflows == []
    unauthenticated = await api.http.post("/api/v1/signals", json={"family": "renewal_risk", "severity": "critical", "account_id": "acme"})
    assert_error(unauthenticated, 401, "unauthorized")
    assert_error(await api.http.get("/api/v1/signals/sig-missing", headers=api.auth("maya")), 404, "not_found")
    assert_error(await api.http.post("/api/v1/signals/sig-missing/acknowledge", headers=api.auth("maya")), 404, "not_found")


async def test_reassignment_by_a_manager_pages_the_new_owner(api):
    created = (await post_signal(api)).json()
    url = f"/api/v1/signals/{created['id']}/reassign"
    assert_error(await api.http.post(url, json={"to_user_id": "casey", "reason": "x"}, headers=api.auth("sky")), 403, "forbidden")
    assert_error(await api.http.post(url, json={"to_user_id": "ghost", "reason": "x"}, headers=api.auth("maya")), 422, "invalid", "ghost")
    assert_error(await api.http.post(url, json={"to_user_id": "casey"}, headers=api.auth("maya")), 422, "invalid", "reason")

    response = await api.http.post(url, json={"to_user_id": "casey", "reason": "Casey runs Acme now"}, headers=api.auth("maya"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["owners"] == ["casey"] and body["status"] == "open"
    assert body["sla_due_at"] > created["sla_due_at"]

    async def casey_paged():
        notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth("casey"))).json()
        return any(n["subject_id"] == created["id"] for n in notes)

    assert await eventually(casey_paged)


async def test_an_unacknowledged_signal_escalates_by_itself_on_real_timers(api):
    """A two-second SLA on the dev server: the manager is paged, then the vp, with nobody calling anything."""
    current = (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()
    rule = {"family": "demo_ping", "severity": "info", "owners": ["csm"], "sla": "PT2S",
            "escalation": [{"after": "PT0S", "to": "manager"}, {"after": "PT1S", "to": "vp"}]}
    rules = [r for r in current["rules"] if r["family"] != "demo_ping"] + [rule]
    assert (await api.http.put("/api/v1/config/routing", json={"rules": rules}, headers=api.auth("rory"))).status_code == 200

    created = (await post_signal(api, family="demo_ping", severity="info")).json()
    assert created["owners"] == ["casey"]

    async def escalated_twice():
        detail = (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("maya"))).json()
        return detail if detail["escalation_level"] == 2 else None

    detail = await eventually(escalated_twice, timeout=30)
    assert detail["status"] == "escalated" and detail["escalated_to"] == ["lee", "victor"]
    types = [e["type"] for e in detail["timeline"]]
    assert types.index("sla_lapsed") < types.index("escalated")
    ack = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("victor"))
    assert ack.status_code == 200


class _FlakyHook(BaseHTTPRequestHandler):
    received: list[dict] = []
    failures_left = 1

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _FlakyHook.failures_left > 0:
            _FlakyHook.failures_left -= 1
            self.send_response(503)
        else:
            _FlakyHook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


async def test_notifications_reach_a_webhook_with_retries(api):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHook)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        user_id = unique("hooked")
        body = {"id": user_id, "name": "Hooked", "role": "csm", "manager_id": "lee",
                "webhook_url": f"http://127.0.0.1:{server.server_port}/pillar"}
        assert (await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))).status_code == 201
        account = {"name": "Hooked Co", "arr": 10000, "team": {"csm": user_id}}
        account_id = unique("hooked-acct")
        await api.http.put(f"/api/v1/accounts/{account_id}", json=account, headers=api.auth("admin"))
        created = (await post_signal(api, family="nps_decline", severity="info", account_id=account_id)).json()

        await eventually(lambda: _FlakyHook.received, timeout=30)
        delivered = _FlakyHook.received[0]
        assert delivered["subject_id"] == created["id"] and delivered["kind"] == "page"
        assert set(delivered) == {"id", "at", "kind", "subject_type", "subject_id", "text"}
        await asyncio.sleep(0.5)
        assert len(_FlakyHook.received) == 1
    finally:
        server.shutdown()


async def test_healthz_and_openapi(api):
    response = await api.http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "temporal": "ok", "database": "ok"}
    paths = (await api.http.get("/openapi.json")).json()["paths"]
    for path in ["/api/v1/users", "/api/v1/me/notifications", "/api/v1/accounts/{account_id}", "/api/v1/config/routing",
                 "/api/v1/config/routing/{version}", "/api/v1/signals", "/api/v1/signals/{signal_id}",
                 "/api/v1/signals/{signal_id}/acknowledge", "/api/v1/signals/{signal_id}/reassign", "/healthz"]:
        assert path in paths


async def test_a_signal_stays_readable_when_no_worker_answers_its_query(api):
    """The API falls back to the read model when the query cannot be answered (no worker polls the queue)."""
    from temporalio.testing import ActivityEnvironment

    from activities.signals import SignalActivities
    from core.db import session_scope
    from models.common import Revision
    from models.signals import SignalDetail

    created = (await post_signal(api, family="nps_decline", severity="info")).json()
    detail = (await api.http.get(f"/api/v1/signals/{created['id']}", headers=api.auth("casey"))).json()
    orphan_id = unique("sig-orphan")
    orphan = {**detail, "id": orphan_id}
    handle = await api.client.start_workflow("SignalWorkflow", orphan, id=f"signal-{orphan_id}", task_queue=unique("unpolled"))
    try:
        ActivityEnvironment().run(SignalActivities(session_scope).save_signal_state, Revision(revision=1, state=SignalDetail.model_validate(orphan)))
        response = await api.http.get(f"/api/v1/signals/{orphan_id}", headers=api.auth("casey"))
        assert response.status_code == 200, response.text
        assert response.json()["id"] == orphan_id and response.json()["status"] == detail["status"]
        missing = await api.http.get(f"/api/v1/signals/{unique('sig-none')}", headers=api.auth("casey"))
        assert_error(missing, 404, "not_found")
    finally:
        await handle.terminate("test over")


async def test_a_caller_cannot_take_an_internal_dedup_key_and_a_key_of_another_signal_is_a_409(api):
    """Issue 15 item 2: a support user pre-empting the key of a handoff override (or a detection) used to be given
    that signal's id, silencing the real one; a key reused with another family answered 500."""
    from services.signals import signal_id_for

    internal = f"handoff-override-{unique('ho')}"
    taken = await post_signal(api, family="nps_decline", severity="info", as_user="sky", dedup_key=internal)
    assert taken.status_code == 202, taken.text
    assert taken.json()["id"] != signal_id_for(internal)  # the override's own signal id stays free

    key = unique("caller-key")
    first = await post_signal(api, family="nps_decline", severity="info", as_user="sky", dedup_key=key)
    again = await post_signal(api, family="nps_decline", severity="info", as_user="casey", dedup_key=key)
    assert first.status_code == 202 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_error(await post_signal(api, family="adoption_decay", severity="warning", dedup_key=key), 409, "conflict",
                 "dedup_key")
    assert_error(await post_signal(api, family="nps_decline", severity="info", account_id="globex", dedup_key=key),
                 409, "conflict", "dedup_key")


async def test_users_show_contact_details_only_to_admins_and_themselves(api):
    """Issue 15 item 7 (the directory part): emails and webhook URLs are not everyone's to read."""
    user_id = unique("contact")
    body = {"id": user_id, "name": "Contact", "role": "csm", "manager_id": "lee", "email": "c@example.com",
            "webhook_url": "https://hooks.example.com/c"}
    created = await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    for headers in (api.auth("admin"), token):
        me = (await api.http.get(f"/api/v1/users/{user_id}", headers=headers)).json()
        assert me["email"] == "c@example.com" and me["webhook_url"] == "https://hooks.example.com/c"
    other = (await api.http.get(f"/api/v1/users/{user_id}", headers=api.auth("casey"))).json()
    assert other["email"] is None and other["webhook_url"] is None and other["name"] == "Contact"
    listed = (await api.http.get("/api/v1/users", params={"limit": 500}, headers=api.auth("maya"))).json()
    assert all(u["email"] is None and u["webhook_url"] is None for u in listed if u["id"] != "maya")


async def test_a_dedup_key_outlives_the_workflows_retention(api):
    """Temporal forgets a closed workflow after its namespace's retention (P90D dedup windows outlive a 30-day
    retention); the read model keeps the key's signal, which stays the answer: no second workflow starts under the
    same id (issue 14, item 6)."""
    from sqlmodel import Session

    from core.db import get_engine
    from models.tables import SignalRow
    from services.signals import CALLER_KEYS, signal_id_for
    from temporalio.service import RPCError

    first = (await post_signal(api, dedup_key=unique("kept"))).json()

    def stored() -> SignalRow | None:
        with Session(get_engine()) as session:
            return session.get(SignalRow, first["id"])

    await eventually(stored)
    key = unique("retained")
    forgotten_id = signal_id_for(key, CALLER_KEYS)
    row = stored()
    with Session(get_engine()) as session:  # the row a signal left, whose workflow Temporal no longer has
        session.add(SignalRow(**{**row.model_dump(), "id": forgotten_id, "workflow_id": f"signal-{forgotten_id}",
                                 "state": {**row.state, "id": forgotten_id}}))
        session.commit()

    again = await post_signal(api, dedup_key=key)
    assert again.status_code == 200 and again.json()["id"] == forgotten_id
    with pytest.raises(RPCError):
        await signal_handle(api.client, forgotten_id).describe()  # nothing started under that id
    assert_error(await post_signal(api, family="nps_decline", severity="info", dedup_key=key), 409, "conflict", key)
