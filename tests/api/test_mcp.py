"""Issue 17 end to end: the official MCP SDK's client against Pillar's streamable HTTP transport (/mcp in the API
process) and against `pillar mcp` over stdio, with a real dev server, worker and API (uvicorn) as `make run` starts
them: tools by role, reads, an act that becomes a proposal, its approval acknowledging the signal through the
workflow's update, refusals as tool errors with the API's message, and what another team's csm cannot see or run."""

import pytest

from tests.support.http import unique
from tests.support.mcp import error_of, http_agent, stdio_agent
from tests.support.stack import ADMIN_TOKEN, process_stack, seed, use_database

import httpx

pytestmark = pytest.mark.asyncio(loop_scope="session")
ACT_REASON = "Renewal at risk; the owner asked me to take it"


@pytest.fixture(scope="module")
async def stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_database(monkeypatch, f"sqlite:///{tmp_path_factory.mktemp('mcp')}/pillar.db")
        tokens = seed()
        log = tmp_path_factory.mktemp("mcp-log") / "processes.log"
        async with process_stack(log, monkeypatch) as (env, base_url, _):
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                yield base_url, {**tokens, "admin": ADMIN_TOKEN}, http


def auth(tokens, user_id):
    return {"Authorization": f"Bearer {tokens[user_id]}"}


async def new_signal(http, tokens, account_id="acme") -> str:
    body = {"family": "renewal_risk", "severity": "critical", "account_id": account_id, "dedup_key": unique("mcp")}
    response = await http.post("/api/v1/signals", json=body, headers=auth(tokens, "admin"))
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def test_tools_are_listed_by_role_and_reads_answer_as_the_api(stack):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)
    async with http_agent(base_url, tokens["lee"]) as agent:
        names = {t.name for t in (await agent.list_tools()).tools}
        print(f"\nMCP tools listed for a csm_lead: {len(names)}")
        assert {"my_inbox", "list_signals", "get_signal", "acknowledge_signal", "list_play_runs"} <= names
        assert "list_executions" not in names and "reset_execution" not in names
        result = await agent.call_tool("get_signal", {"signal_id": signal_id})
        assert not result.is_error, result
        api = (await http.get(f"/api/v1/signals/{signal_id}", headers=auth(tokens, "lee"))).json()
        assert result.structured_content["id"] == api["id"] and result.structured_content["owners"] == api["owners"]
        assert result.structured_content["timeline"]
        inbox = (await agent.call_tool("my_inbox", {})).structured_content
        assert signal_id in [s["id"] for s in inbox["to_acknowledge"]]
        plays = (await agent.call_tool("list_plays", {})).structured_content["items"]
        assert "renewal_save" in [p["key"] for p in plays]
        outcomes = await agent.read_resource("pillar://outcomes")
        assert "blocked_waiting_on" in outcomes.contents[0].text
        triage = await agent.get_prompt("prepare_monday_triage", {})
        assert "list_signals" in triage.messages[0].content.text
    async with http_agent(base_url, tokens["olga"]) as ops_agent:
        ops_tools = {t.name for t in (await ops_agent.list_tools()).tools}
        print(f"MCP tools listed for ops: {len(ops_tools)}")
        assert {"list_executions", "reset_execution", "replay_execution"} <= ops_tools
        executions = await ops_agent.call_tool("list_executions", {"limit": 5})
        assert not executions.is_error, executions


async def test_an_act_becomes_a_proposal_and_its_approval_runs_the_workflow_update(stack):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)  # renewal_risk on acme: owned by lee (csm_lead) and alex (ae)
    async with http_agent(base_url, tokens["alex"], name="claude-desktop") as agent:
        result = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
        assert not result.is_error, result
        proposal = result.structured_content["proposal"]
        assert result.structured_content["result"] is None
        assert proposal["status"] == "pending" and proposal["requested_by"] == "alex"
        assert proposal["agent"] == "claude-desktop" and proposal["arguments"] == {"signal_id": signal_id}
        assert proposal["stated_reason"] == ACT_REASON and proposal["account_id"] == "acme"
        still_open = (await agent.call_tool("get_signal", {"signal_id": signal_id})).structured_content
        assert still_open["status"] == "open"  # nothing acted yet

    own = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth(tokens, "alex"))
    assert own.status_code == 403, own.text  # the agent's own user does not approve it
    pending = (await http.get("/api/v1/proposals?status=pending", headers=auth(tokens, "lee"))).json()
    assert proposal["id"] in [p["id"] for p in pending]

    approved = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", json={"note": "go"},
                               headers=auth(tokens, "lee"))
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "applied" and body["decided_by"] == "lee"
    assert body["audit"] == "proposed by agent claude-desktop on behalf of alex, approved by lee"
    assert body["result"]["status"] == "acknowledged" and body["result"]["task_candidates"]
    signal = (await http.get(f"/api/v1/signals/{signal_id}", headers=auth(tokens, "lee"))).json()
    assert signal["status"] == "acknowledged" and signal["acknowledged_by"] == "lee"
    again = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth(tokens, "maya"))
    assert again.status_code == 409, again.text


async def test_refusals_come_back_as_tool_errors_with_the_api_message(stack):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)
    rest = await http.post(f"/api/v1/signals/{signal_id}/acknowledge", headers=auth(tokens, "casey"))
    assert rest.status_code == 403, rest.text
    settings = await http.put("/api/v1/me/agent-settings", json={"auto_approve": ["acknowledge_signal"]},
                              headers=auth(tokens, "casey"))
    assert settings.status_code == 200, settings.text
    risky = await http.put("/api/v1/me/agent-settings", json={"auto_approve": ["reassign_signal"]},
                           headers=auth(tokens, "casey"))
    assert risky.status_code == 422, risky.text
    async with http_agent(base_url, tokens["casey"]) as agent:
        # casey (csm) sees acme's signal but owns none of it: the workflow's validator refuses, word for word
        refused = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
        error = error_of(refused)
        assert error["code"] == "forbidden" and error["message"] == rest.json()["error"]["message"]
        bad = await agent.call_tool("set_task_outcome", {"task_id": f"{signal_id}-t1", "outcome": "done",
                                                         "stated_reason": ACT_REASON})
        assert error_of(bad)["code"] == "invalid" and "renewed" in error_of(bad)["message"]
        unbounded = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": "x" * 2001})
        assert error_of(unbounded)["code"] == "invalid"
    mine = (await http.get(f"/api/v1/proposals?requested_by=casey", headers=auth(tokens, "casey"))).json()
    assert not [p for p in mine if p["arguments"].get("signal_id") == signal_id]  # a refused act left no trace

    # a proposal whose approver may not do the act: the validator refuses the approval, the proposal still waits
    async with http_agent(base_url, tokens["alex"]) as agent:
        result = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
        proposal_id = result.structured_content["proposal"]["id"]
    refused_approval = await http.post(f"/api/v1/proposals/{proposal_id}/approve", headers=auth(tokens, "casey"))
    assert refused_approval.status_code == 403, refused_approval.text
    assert (await http.get(f"/api/v1/proposals/{proposal_id}", headers=auth(tokens, "alex"))).json()["status"] == "pending"
    rejected = await http.post(f"/api/v1/proposals/{proposal_id}/reject", json={"reason": "not now"},
                               headers=auth(tokens, "lee"))
    assert rejected.status_code == 200 and rejected.json()["audit"].endswith("rejected by lee")


async def test_another_teams_csm_sees_no_account_of_ours_and_runs_no_ops_tool(stack):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)
    outsider = unique("csm")
    created = await http.post("/api/v1/users", json={"id": outsider, "name": outsider, "role": "csm"},
                              headers=auth(tokens, "admin"))
    assert created.status_code == 201, created.text
    async with http_agent(base_url, created.json()["token"]) as agent:
        hidden = await agent.call_tool("get_signal", {"signal_id": signal_id})
        assert error_of(hidden) == {"code": "not_found", "message": f"no signal {signal_id!r}"}
        assert (await agent.call_tool("get_account_score", {"account_id": "acme"})).is_error
        listed = (await agent.call_tool("list_signals", {"account_id": "acme"})).structured_content
        assert listed["items"] == []
        act = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
        assert error_of(act)["code"] == "not_found"  # no proposal on an account it cannot see
        ops = await agent.call_tool("list_executions", {})
        assert error_of(ops)["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        response = await anonymous.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
        assert (await anonymous.get("/mcp", headers=auth(tokens, "lee"))).status_code == 405  # no stream to hold open


async def test_pillar_mcp_over_stdio_acts_as_the_token_holder(stack, monkeypatch):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)
    async with stdio_agent(tokens["lee"]) as agent:
        tools = (await agent.list_tools()).tools
        print(f"\nMCP tools over stdio for a csm_lead: {len(tools)}")
        listed = (await agent.call_tool("list_signals", {"account_id": "acme", "status": "open"})).structured_content
        assert signal_id in [s["id"] for s in listed["items"]]
        result = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
        proposal = result.structured_content["proposal"]
        assert proposal["status"] == "pending" and proposal["requested_by"] == "lee" and proposal["agent"] == "stdio-agent"
        ops = await agent.call_tool("reset_execution", {"workflow_id": "x", "reason": "y", "stated_reason": ACT_REASON})
        assert error_of(ops)["code"] == "forbidden"
    approved = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth(tokens, "alex"))
    assert approved.status_code == 200, approved.text
    signal = (await http.get(f"/api/v1/signals/{signal_id}", headers=auth(tokens, "lee"))).json()
    assert signal["status"] == "acknowledged" and signal["acknowledged_by"] == "alex"


async def test_a_low_risk_act_its_user_lets_through_runs_at_once_and_is_recorded(stack):
    base_url, tokens, http = stack
    signal_id = await new_signal(http, tokens)
    settings = await http.put("/api/v1/me/agent-settings", json={"auto_approve": ["acknowledge_signal"]},
                              headers=auth(tokens, "alex"))
    assert settings.status_code == 200, settings.text
    try:
        async with http_agent(base_url, tokens["alex"], name="cursor") as agent:
            result = await agent.call_tool("acknowledge_signal", {"signal_id": signal_id, "stated_reason": ACT_REASON})
            assert not result.is_error, result
            assert result.structured_content["result"]["status"] == "acknowledged"
            proposal = result.structured_content["proposal"]
            assert proposal["status"] == "applied" and proposal["decided_by"] == "alex"
            assert proposal["audit"] == ("proposed by agent cursor on behalf of alex, approved by alex "
                                         "(auto-approved by their agent settings)")
            open_signal = await new_signal(http, tokens)
            reassign = await agent.call_tool("reassign_signal", {"signal_id": open_signal, "to_user_id": "casey",
                                                                 "reason": "csm", "stated_reason": ACT_REASON})
            assert reassign.structured_content["proposal"]["status"] == "pending"  # not low-risk: it waits
    finally:
        await http.put("/api/v1/me/agent-settings", json={"auto_approve": []}, headers=auth(tokens, "alex"))
    signal = (await http.get(f"/api/v1/signals/{signal_id}", headers=auth(tokens, "alex"))).json()
    assert signal["status"] == "acknowledged" and signal["acknowledged_by"] == "alex"
    proposal_id = reassign.structured_content["proposal"]["id"]
    approved = await http.post(f"/api/v1/proposals/{proposal_id}/approve", headers=auth(tokens, "lee"))
    assert approved.status_code == 200, approved.text
    timeline = (await http.get(f"/api/v1/signals/{open_signal}", headers=auth(tokens, "lee"))).json()["timeline"]
    reassigned = next(entry for entry in timeline if entry["type"] == "reassigned")
    assert reassigned["actor"] == "lee"  # the signal's own audit says who proposed it for whom, and who approved
    assert reassigned["detail"].endswith("csm (proposed by agent cursor on behalf of alex, approved by lee)")


async def test_territory_reads_answer_as_the_api_and_reconcile_by_an_agent_waits_for_a_person(stack):
    base_url, tokens, http = stack
    async with http_agent(base_url, tokens["maya"]) as agent:  # a manager: a Planner, sees her team's book
        tool = await agent.call_tool("get_territory", {})
        api = (await http.get("/api/v1/territory", headers=auth(tokens, "maya"))).json()
        assert not tool.is_error, tool
        assert {**tool.structured_content, "as_of": None} == {**api, "as_of": None}
        assert {o["owner_id"] for o in api["owners"]} >= {"casey", "dana"}
        allocations = (await agent.call_tool("list_territory_allocations", {})).structured_content["items"]
        assert allocations == (await http.get("/api/v1/territory/allocations", headers=auth(tokens, "maya"))).json()
        listed = await agent.call_tool("list_territory_proposals", {})
        assert not listed.is_error and listed.structured_content["next_cursor"] is None
        missing = await agent.call_tool("get_territory_proposal", {"proposal_id": "terr-missing"})
        route = await http.get("/api/v1/territory/proposals/terr-missing", headers=auth(tokens, "maya"))
        assert route.status_code == 404 and error_of(missing)["code"] == "not_found"
        assert error_of(missing)["message"] == route.json()["error"]["message"]
        rebalance = await agent.call_tool("rebalance_territory", {"stated_reason": ACT_REASON})
        assert rebalance.structured_content["proposal"]["status"] == "pending"  # an act: a person decides
    # the approver runs it as the route would: no risk concentrates in this book, a 409, and the proposal still waits
    route = await http.post("/api/v1/territory/rebalance", headers=auth(tokens, "victor"))
    approval = await http.post(f"/api/v1/proposals/{rebalance.structured_content['proposal']['id']}/approve",
                               headers=auth(tokens, "victor"))
    assert route.status_code == approval.status_code == 409, approval.text
    assert approval.json()["error"]["message"] == route.json()["error"]["message"]
    async with http_agent(base_url, tokens["casey"]) as agent:  # a csm: not a Planner, as the route says
        for name, path in (("list_territory_proposals", "/api/v1/territory/proposals"),
                           ("get_territory_proposal", "/api/v1/territory/proposals/terr-missing")):
            assert (await http.get(path, headers=auth(tokens, "casey"))).status_code == 403
            refused = await agent.call_tool(name, {"proposal_id": "terr-missing"} if "get" in name else {})
            assert error_of(refused)["code"] == "forbidden"
        rebalance = await agent.call_tool("rebalance_territory", {"stated_reason": ACT_REASON})
        assert error_of(rebalance)["code"] == "forbidden"  # refused before any proposal is recorded
    outsider = unique("csm")
    created = await http.post("/api/v1/users", json={"id": outsider, "name": outsider, "role": "csm"},
                              headers=auth(tokens, "admin"))
    token = created.json()["token"]
    async with http_agent(base_url, token) as agent:  # another team's csm: sees none of our book
        tool = (await agent.call_tool("get_territory", {})).structured_content
        api = (await http.get("/api/v1/territory", headers={"Authorization": f"Bearer {token}"})).json()
        assert {**tool, "as_of": None} == {**api, "as_of": None} and tool["accounts"] == 0 and tool["book_arr"] == 0

    body = {"family": "renewal_risk", "severity": "critical", "account_id": "acme", "dedup_key": unique("mcp")}
    signal = (await http.post("/api/v1/signals", json=body, headers=auth(tokens, "admin"))).json()
    async with http_agent(base_url, tokens["olga"], name="ops-agent") as agent:
        result = await agent.call_tool("reconcile_execution", {"workflow_id": signal["workflow_id"],
                                                               "stated_reason": "rows look stale after a reset"})
        assert not result.is_error, result
        proposal = result.structured_content["proposal"]
        assert result.structured_content["result"] is None and proposal["status"] == "pending"
        assert proposal["operation"] == "POST /api/v1/ops/executions/{workflow_id}/reconcile"
        assert proposal["tool"] == "reconcile_execution" and proposal["requested_by"] == "olga"
    own = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth(tokens, "olga"))
    assert own.status_code == 403, own.text
    approved = await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth(tokens, "admin"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "applied"
    assert approved.json()["result"] == {**approved.json()["result"], "workflow_id": signal["workflow_id"],
                                         "workflow_type": "SignalWorkflow", "rebuilt": True}
