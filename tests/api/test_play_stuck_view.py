"""The manager's stuck view on the dev server with a few hundred running plays: one query on the read model."""

import uuid

import pytest

from tests.support.plays import probe_library, start_runs
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def make_account(api, account_id: str, csm: str) -> None:
    body = {"name": account_id, "arr": 50_000, "segment": "smb", "team": {"csm": csm, "ae": "alex", "csm_lead": "lee"}}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200


async def make_csm(api, user_id: str) -> None:
    """A csm of the test's own: a hundred overdue steps would push everyone else's out of a demo user's inbox (the
    session's stack is shared: the browser tests work Casey's inbox)."""
    body = {"id": user_id, "name": "Stuck Probe", "role": "csm", "manager_id": "lee"}
    assert (await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))).status_code == 201


async def test_the_stuck_view_over_three_hundred_runs_keeps_exactly_the_overdue_ones(api, tmp_path):
    account_id, csm = f"stuck-{uuid.uuid4().hex[:8]}", f"stuck-csm-{uuid.uuid4().hex[:8]}"
    await make_csm(api, csm)
    await make_account(api, account_id, csm)
    library = probe_library(tmp_path / "plays")
    fast = await start_runs(api.client, library, "stuck_probe_fast", account_id, 100)
    slow = await start_runs(api.client, library, "stuck_probe_slow", account_id, 200)

    async def view(**params):
        response = await api.http.get("/api/v1/play-runs", params={"account_id": account_id, "limit": 500, **params},
                                      headers=api.auth("maya"))
        assert response.status_code == 200, response.text
        return response.json()

    async def all_running():
        rows = await view(status="running")
        return rows if len(rows) == 300 else None

    rows = await eventually(all_running, timeout=120, interval=1)
    assert {r["id"] for r in rows} == set(fast + slow)
    assert all(r["current_steps"] == ["first"] and r["stuck"]["step_key"] == "first" for r in rows)

    stuck = await view(status="running", stuck="true")
    assert {r["id"] for r in stuck} == set(fast)
    assert all(r["stuck"]["owner_id"] == csm and r["stuck"]["overdue_seconds"] >= 0 for r in stuck)
    since = [r["stuck"]["waiting_since"] for r in stuck]
    assert since == sorted(since)  # longest waiting first
    assert await view(status="running", stuck="true", play_key="stuck_probe_slow") == []
    assert len(await view(status="running", owner_id="alex", play_key="stuck_probe_slow")) == 200
    assert await view(status="running", owner_id="sky") == []
