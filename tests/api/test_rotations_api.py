"""Rotations and round robin as signal owners, through the HTTP API: who is chosen, why (on the timeline), refusals."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.signals import signal_handle
from tests.support.accounts import make_account
from tests.support.histories import record_history
from tests.support.http import assert_error, post_signal, unique
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def make_user(api, prefix: str, role: str = "csm", manager_id: str = "maya") -> str:
    user_id = unique(prefix)
    body = {"id": user_id, "name": user_id.title(), "role": role, "manager_id": manager_id}
    response = await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))
    assert response.status_code == 201, response.text
    api.tokens[user_id] = response.json()["token"]
    return user_id


async def add_rotation(api, rotation: dict) -> int:
    """The rotations in force plus this one (other tests' rotations stay: routing rules may name them)."""
    current = await api.http.get("/api/v1/config/rotations", headers=api.auth("rory"))
    rotations = current.json()["rotations"] if current.status_code == 200 else []
    response = await api.http.put("/api/v1/config/rotations", json={"rotations": rotations + [rotation]},
                                  headers=api.auth("rory"))
    assert response.status_code == 200, response.text
    return response.json()["version"]


async def add_rule(api, owners: list[str]) -> str:
    """A routing rule for a family of its own (other tests' rules stay as they are); returns the family."""
    family = unique("rot").replace("-", "_")
    rules = (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()["rules"]
    rule = {"family": family, "severity": "warning", "owners": owners, "sla": "PT1H",
            "escalation": [{"after": "PT0S", "to": "manager"}]}
    response = await api.http.put("/api/v1/config/routing", json={"rules": rules + [rule]}, headers=api.auth("rory"))
    assert response.status_code == 200, response.text
    return family


def rotation_of(key: str, members: list[str], **change) -> dict:
    # Handing over twelve hours from now: a test never runs across a handover
    handover = (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")
    return {"key": key, "members": members, "handover": "daily", "handover_time": handover, "time_zone": "UTC",
            "start_date": (date.today() - timedelta(days=10)).isoformat(), **change}


async def open_signal(api, family: str, account_id: str) -> dict:
    response = await post_signal(api, family=family, severity="warning", account_id=account_id)
    assert response.status_code == 202, response.text
    return response.json()


async def saved_timeline(api, signal_id: str) -> list[dict]:
    """The signal's timeline once its first page is saved."""
    async def paged():
        detail = (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("admin"))).json()
        return detail["timeline"] if any(e["type"] == "paged" for e in detail.get("timeline", [])) else None
    return await eventually(paged, what=f"signal {signal_id} paged")


async def test_a_rotation_owned_signal_goes_to_whoever_covers_the_turn_and_says_why(api):
    ana, ben, cy = [await make_user(api, name) for name in ("ana", "ben", "cy")]
    now = datetime.now(UTC)
    leave = [{"user_id": cy, "covers": member, "starts_at": (now - timedelta(days=1)).isoformat(),
              "ends_at": (now + timedelta(days=1)).isoformat(), "reason": "leave"} for member in (ana, ben)]
    key = unique("csm-primary")
    await add_rotation(api, rotation_of(key, [ana, ben], overrides=leave))
    family = await add_rule(api, [f"rotation:{key}"])
    account_id = await make_account(api, "rota")

    on_call = (await api.http.get(f"/api/v1/rotations/{key}/on-call", headers=api.auth("casey"))).json()
    assert on_call["user_id"] == cy and on_call["scheduled_user_id"] in (ana, ben) and on_call["override"]["reason"] == "leave"

    created = await open_signal(api, family, account_id)
    assert created["owners"] == [cy]
    timeline = await saved_timeline(api, created["id"])
    chosen = [e for e in timeline if e["type"] == "owner_chosen"]
    assert [e["detail"] for e in chosen] == [
        f"{cy} via rotation:{key}: covering for {on_call['scheduled_user_id']} (leave) on rotation {key}"]
    assert [e["type"] for e in timeline[:3]] == ["created", "owner_chosen", "paged"]
    pages = (await api.http.get("/api/v1/me/notifications", headers=api.auth(cy))).json()
    assert [p["subject_id"] for p in pages] == [created["id"]]
    await record_history(signal_handle(api.client, created["id"]), "signal_owner_covering_on_a_rotation")

    later = (now + timedelta(days=2)).isoformat()
    after_leave = (await api.http.get(f"/api/v1/rotations/{key}/on-call", params={"at": later}, headers=api.auth("casey"))).json()
    assert after_leave["user_id"] == after_leave["scheduled_user_id"] and after_leave["override"] is None
    assert after_leave["reason"].startswith(f"on call for rotation {key} today")


async def test_a_rule_mixes_roles_and_a_rotation_in_its_order(api):
    member = await make_user(api, "solo")
    key = unique("solo")
    await add_rotation(api, rotation_of(key, [member], handover="weekly"))
    family = await add_rule(api, ["ae", f"rotation:{key}"])
    created = await open_signal(api, family, await make_account(api, "mixed"))
    assert created["owners"] == ["alex", member]
    chosen = [e["detail"] for e in await saved_timeline(api, created["id"]) if e["type"] == "owner_chosen"]
    assert len(chosen) == 1 and chosen[0].startswith(f"{member} via rotation:{key}: on call for rotation {key} this week")


async def test_round_robin_picks_the_pod_member_with_the_fewest_open_items(api):
    pod_manager = await make_user(api, "pod", role="manager")
    first, second = sorted([await make_user(api, "rr", manager_id=pod_manager) for _ in range(2)])
    account_id = unique("rr-acct")
    body = {"name": "Round Robin U", "arr": 50_000, "team": {"csm": first, "manager": pod_manager}}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    by_role, by_load = await add_rule(api, ["csm"]), await add_rule(api, ["round_robin:csm"])

    for _ in range(2):
        await open_signal(api, by_role, account_id)
    await eventually(lambda: owned(api, first, 2), what=f"{first}'s two signals in the read model")

    async def round_robin(expected_owner: str, reason: str, count: int) -> None:
        created = await open_signal(api, by_load, account_id)
        assert created["owners"] == [expected_owner]
        chosen = [e for e in await saved_timeline(api, created["id"]) if e["type"] == "owner_chosen"]
        assert chosen[0]["detail"] == f"{expected_owner} via round_robin:csm: fewest open items among the csms: {reason}"
        await eventually(lambda: owned(api, expected_owner, count), what=f"{expected_owner}'s signal in the read model")

    await round_robin(second, f"0 vs 2 ({first})", 1)
    await round_robin(second, f"1 vs 2 ({first})", 2)
    await round_robin(first, f"2 vs 2 ({second}) (a tie, broken by user id)", 3)


async def owned(api, user_id: str, count: int) -> bool:
    rows = (await api.http.get("/api/v1/signals", params={"owner_id": user_id}, headers=api.auth("admin"))).json()
    return len(rows) == count


async def test_rotation_config_refusals_change_nothing(api):
    member = await make_user(api, "member")
    key = unique("refused")
    ok = rotation_of(key, [member])
    assert_error(await api.http.put("/api/v1/config/rotations", json={"rotations": [ok]}, headers=api.auth("casey")),
                 403, "forbidden", "revops")
    ghost = rotation_of(key, [member, "ghost-user"])
    assert_error(await api.http.put("/api/v1/config/rotations", json={"rotations": [ghost]}, headers=api.auth("rory")),
                 422, "invalid", "ghost-user")
    naive = {**ok, "overrides": [{"user_id": "casey", "covers": member, "starts_at": "2026-12-01T00:00:00",
                                  "ends_at": "2026-12-02T00:00:00Z"}]}
    assert_error(await api.http.put("/api/v1/config/rotations", json={"rotations": [naive]}, headers=api.auth("rory")),
                 422, "invalid")
    assert_error(await api.http.get(f"/api/v1/rotations/{key}/on-call", headers=api.auth("casey")), 404, "not_found", key)

    rules = (await api.http.get("/api/v1/config/routing", headers=api.auth("rory"))).json()["rules"]
    unknown = {"family": "rot_unknown", "severity": "info", "owners": [f"rotation:{key}"], "sla": "PT1H"}
    assert_error(await api.http.put("/api/v1/config/routing", json={"rules": rules + [unknown]}, headers=api.auth("rory")),
                 422, "invalid", key)

    version = await add_rotation(api, ok)
    assert (await api.http.get(f"/api/v1/config/rotations/{version}", headers=api.auth("casey"))).json()["rotations"][-1]["key"] == key
    await add_rule(api, [f"rotation:{key}"])
    current = (await api.http.get("/api/v1/config/rotations", headers=api.auth("rory"))).json()["rotations"]
    without = [r for r in current if r["key"] != key]
    assert_error(await api.http.put("/api/v1/config/rotations", json={"rotations": without}, headers=api.auth("rory")),
                 422, "invalid", key)
    assert (await api.http.get("/api/v1/config/rotations", headers=api.auth("rory"))).json()["version"] == version
    naive_at = await api.http.get(f"/api/v1/rotations/{key}/on-call", params={"at": "2026-12-01T00:00:00"},
                                  headers=api.auth("casey"))
    assert_error(naive_at, 422, "invalid")
