"""Territory decisions (Layer III) through the API on the dev server: a manager's territory after the reference week,
who may see which part of it, a rebalance proposed, refused to the wrong roles, approved, and the allocations."""

import pytest

from tests.support.accounts import TEAM, make_account, make_user
from tests.support.events import bad_week, baseline
from tests.support.http import assert_error

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def a_territory(api):
    """A manager with two CSMs: the first owns three accounts, one of which has the reference week; the second none."""
    manager, as_manager = await make_user(api, "manager", prefix="terr")
    busy, as_busy = await make_user(api, "csm", manager, prefix="terr")
    free, as_free = await make_user(api, "csm", manager, prefix="terr")
    accounts = [await make_account(api, f"terr-{n}", arr=arr, team={**TEAM, "csm": busy})
                for n, arr in (("big", 180_000), ("mid", 95_000), ("small", 40_000))]
    for events in (baseline(accounts[0]), bad_week(accounts[0])):
        posted = await api.http.post("/api/v1/events/batch", json={"events": events}, headers=api.auth("rory"))
        assert posted.status_code == 201, posted.text
    return manager, as_manager, (busy, as_busy), (free, as_free), accounts


async def test_a_territory_rebalance_is_proposed_when_risk_concentrates_and_approval_moves_the_healthy_accounts(api):
    manager, as_manager, (busy, as_busy), (free, as_free), (big, mid, small) = await a_territory(api)

    health = await api.http.get("/api/v1/territory", params={"manager_id": manager}, headers=as_manager)
    assert health.status_code == 200, health.text
    body = health.json()
    assert (body["book_arr"], body["arr_at_risk"], body["accounts"], body["concentrated_on"]) == (315_000, 180_000, 3, busy)
    owners = {o["owner_id"]: o for o in body["owners"]}
    assert (owners[busy]["critical_accounts"], owners[busy]["health"], owners[busy]["load_units"]) == (1, 28, 5)
    assert owners[free]["accounts"] == 0

    mine = (await api.http.get("/api/v1/territory", headers=as_free)).json()  # a CSM sees their own book only
    assert [o["owner_id"] for o in mine["owners"]] == [free] and mine["accounts"] == 0

    assert_error(await api.http.post("/api/v1/territory/rebalance", json={"manager_id": manager}, headers=as_busy), 403, "forbidden")
    proposed = await api.http.post("/api/v1/territory/rebalance", json={"manager_id": manager}, headers=as_manager)
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert proposal["status"] == "proposed" and proposal["concentrated_on"] == busy
    assert [(m["account_id"], m["to_owner"]) for m in proposal["moves"]] == [(small, free), (mid, free)]
    assert [(e["owner_id"], e["load_before"], e["load_after"]) for e in proposal["expected"]] == sorted([(busy, 5, 3), (free, 0, 2)])

    assert_error(await api.http.post(f"/api/v1/territory/proposals/{proposal['id']}/approve", headers=as_manager), 403, "forbidden")
    approved = await api.http.post(f"/api/v1/territory/proposals/{proposal['id']}/approve", json={"note": "focus on the save"},
                                   headers=api.auth("kim"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "kim"
    for account_id, owner in ((big, busy), (mid, free), (small, free)):
        account = (await api.http.get(f"/api/v1/accounts/{account_id}", headers=api.auth("rory"))).json()
        assert account["team"]["csm"] == owner
    again = await api.http.post(f"/api/v1/territory/proposals/{proposal['id']}/approve", headers=api.auth("rory"))
    assert_error(again, 409, "conflict")
    listed = (await api.http.get("/api/v1/territory/proposals", params={"status": "approved"}, headers=as_manager)).json()
    assert proposal["id"] in [p["id"] for p in listed]

    after = (await api.http.get("/api/v1/territory", params={"manager_id": manager}, headers=as_manager)).json()
    assert after["concentrated_on"] == busy  # the save stays with its owner; the load moved
    assert {o["owner_id"]: o["load_units"] for o in after["owners"]} == {busy: 3, free: 2}
    assert_error(await api.http.post("/api/v1/territory/rebalance", json={"manager_id": manager}, headers=as_manager), 409, "conflict")


async def test_critical_saves_get_an_se_and_an_executive_and_others_see_only_their_own(api):
    manager, as_manager, (busy, as_busy), (free, as_free), (big, _, _) = await a_territory(api)
    allocations = (await api.http.get("/api/v1/territory/allocations", headers=api.auth("kim"))).json()
    mine = [a for a in allocations if a["account_id"] == big]
    assert len(mine) == 1 and mine[0]["se_id"] == "sid" and mine[0]["executive_id"] == "kim"
    assert "kim (cro) as executive sponsor: ARR at or above $100K" in mine[0]["why"]
    assert big in [a["account_id"] for a in (await api.http.get("/api/v1/territory/allocations", headers=as_busy)).json()]
    assert (await api.http.get("/api/v1/territory/allocations", headers=as_free)).json() == []
