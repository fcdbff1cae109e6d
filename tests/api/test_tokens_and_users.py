"""Tokens and users over their lifetime (issue 15, item 7): a rotated or revoked token stops at once (through the
API's principal cache), a disabled user stops being anyone and their open work shows as unowned and pages their
manager, and the bootstrap admin token is replaced without a restart (API and CLI)."""

import uuid

import httpx
import pytest
from sqlmodel import Session, delete
from typer.testing import CliRunner

from api.deps import principal_for_token
from core.db import get_engine
from models.tables import AdminCredential
from tests.support.stack import ADMIN_TOKEN, seed
from tests.support.waiting import eventually

session_loop = pytest.mark.asyncio(loop_scope="session")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_user(api, role: str = "csm", manager_id: str | None = None) -> tuple[str, str]:
    user_id = f"tok-{role}-{uuid.uuid4().hex[:6]}"
    created = await api.http.post("/api/v1/users", json={"id": user_id, "name": user_id.title(), "role": role,
                                                         "manager_id": manager_id}, headers=ADMIN)
    assert created.status_code == 201, created.text
    return user_id, created.json()["token"]


async def status_with(api, token: str) -> int:
    return (await api.http.get("/api/v1/me/notifications", headers=bearer(token))).status_code


@session_loop
async def test_a_rotated_token_stops_at_once_and_the_new_one_works(api):
    user_id, old = await new_user(api)
    assert await status_with(api, old) == 200  # now cached by the API's read cache

    rotated = await api.http.post(f"/api/v1/users/{user_id}/token", headers=bearer(old))  # the user themself
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["token"]
    assert rotated.json()["user_id"] == user_id and new != old
    assert await status_with(api, old) == 401
    assert await status_with(api, new) == 200

    by_admin = await api.http.post(f"/api/v1/users/{user_id}/token", headers=ADMIN)
    assert by_admin.status_code == 200, by_admin.text
    assert await status_with(api, new) == 401
    assert await status_with(api, by_admin.json()["token"]) == 200


@session_loop
async def test_only_an_admin_or_the_user_themself_rotates_or_revokes_a_token(api):
    user_id, token = await new_user(api)
    _, other = await new_user(api, "manager")
    for method in ("POST", "DELETE"):
        refused = await api.http.request(method, f"/api/v1/users/{user_id}/token", headers=bearer(other))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
    assert await status_with(api, token) == 200
    missing = await api.http.post("/api/v1/users/tok-nobody/token", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@session_loop
async def test_a_revoked_token_stops_at_once(api):
    user_id, token = await new_user(api)
    assert await status_with(api, token) == 200
    revoked = await api.http.delete(f"/api/v1/users/{user_id}/token", headers=bearer(token))
    assert revoked.status_code == 204, revoked.text
    assert await status_with(api, token) == 401
    again = await api.http.post(f"/api/v1/users/{user_id}/token", headers=ADMIN)  # an admin gives them a new one
    assert await status_with(api, again.json()["token"]) == 200


@session_loop
async def test_a_rotated_token_ends_the_web_sessions_opened_with_it(api):
    from api.main import app

    user_id, token = await new_user(api)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test") as browser:
        signed_in = await browser.post("/sign-in", data={"token": token, "next": "/inbox"})
        assert signed_in.status_code == 303, signed_in.text
        assert (await browser.get("/inbox")).status_code == 200
        await api.http.post(f"/api/v1/users/{user_id}/token", headers=ADMIN)
        after = await browser.get("/inbox")
        assert after.status_code in (303, 401), after.text
        assert "/sign-in" in after.headers.get("location", "/sign-in")


@session_loop
async def test_a_disabled_user_is_nobody_their_open_work_is_unowned_and_their_manager_is_paged(api):
    manager_id, manager_token = await new_user(api, "manager")
    csm_id, csm_token = await new_user(api, "csm", manager_id)
    account_id = f"tok-acct-{uuid.uuid4().hex[:6]}"
    put = await api.http.put(f"/api/v1/accounts/{account_id}", json={
        "name": account_id, "arr": 50_000, "segment": "smb", "team": {"csm": csm_id}}, headers=ADMIN)
    assert put.status_code == 200, put.text
    opened = await api.http.post("/api/v1/signals", json={"family": "adoption_decay", "severity": "warning",
                                                          "account_id": account_id}, headers=ADMIN)
    assert opened.status_code == 202, opened.text
    assert opened.json()["owners"] == [csm_id]
    signal_id = opened.json()["id"]
    ack = await api.http.post(f"/api/v1/signals/{signal_id}/acknowledge", headers=bearer(csm_token))
    assert ack.status_code == 200, ack.text
    task = await api.http.post(f"/api/v1/signals/{signal_id}/tasks",
                               json={"template_key": ack.json()["task_candidates"][0]["template_key"]},
                               headers=bearer(csm_token))
    assert task.status_code == 201, task.text

    async def listed():
        signals = (await api.http.get("/api/v1/signals", params={"account_id": account_id}, headers=ADMIN)).json()
        tasks = (await api.http.get("/api/v1/tasks", params={"owner_id": csm_id}, headers=ADMIN)).json()
        return (signals, tasks) if signals and tasks and signals[0]["status"] == "acknowledged" else None

    signals, tasks = await eventually(listed)
    assert not signals[0]["unowned"] and not tasks[0]["unowned"]

    refused = await api.http.post(f"/api/v1/users/{csm_id}/disable", headers=bearer(manager_token))
    assert refused.status_code == 403, refused.text
    disabled = await api.http.post(f"/api/v1/users/{csm_id}/disable", json={"reason": "left the company"},
                                   headers=ADMIN)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None
    assert await status_with(api, csm_token) == 401

    signals, tasks = await listed()
    assert signals[0]["unowned"] is True and tasks[0]["unowned"] is True
    inbox = (await api.http.get("/api/v1/me/notifications", headers=bearer(manager_token))).json()
    paged = [n for n in inbox if n["kind"] == "owner_disabled" and n["subject_id"] == csm_id]
    assert len(paged) == 1, inbox
    assert signal_id in paged[0]["text"] and task.json()["id"] in paged[0]["text"]
    assert "left the company" in paged[0]["text"]

    # disabling twice pages nobody again; enabling lets them back in only with a new token
    await api.http.post(f"/api/v1/users/{csm_id}/disable", headers=ADMIN)
    inbox = (await api.http.get("/api/v1/me/notifications", headers=bearer(manager_token))).json()
    assert len([n for n in inbox if n["kind"] == "owner_disabled" and n["subject_id"] == csm_id]) == 1
    assert (await api.http.post(f"/api/v1/users/{csm_id}/token", headers=ADMIN)).status_code == 409
    enabled = await api.http.post(f"/api/v1/users/{csm_id}/enable", headers=ADMIN)
    assert enabled.status_code == 200 and enabled.json()["disabled_at"] is None
    assert await status_with(api, csm_token) == 401
    fresh = await api.http.post(f"/api/v1/users/{csm_id}/token", headers=ADMIN)
    assert await status_with(api, fresh.json()["token"]) == 200
    signals, tasks = await listed()
    assert not signals[0]["unowned"] and not tasks[0]["unowned"]


@session_loop
async def test_the_admin_token_is_replaced_without_a_restart(api):
    assert (await api.http.get("/api/v1/users", headers=ADMIN)).status_code == 200
    try:
        rotated = await api.http.post("/api/v1/admin/token", headers=ADMIN)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["token"]
        assert (await api.http.get("/api/v1/users", headers=ADMIN)).status_code == 401  # the environment's stops
        created = await api.http.post("/api/v1/users", json={"id": f"tok-by-new-admin-{uuid.uuid4().hex[:6]}",
                                                             "name": "N", "role": "csm"}, headers=bearer(new))
        assert created.status_code == 201, created.text
        _, csm = await new_user_with(api, new)
        refused = await api.http.post("/api/v1/admin/token", headers=bearer(csm))
        assert refused.status_code == 403, refused.text
    finally:
        with Session(get_engine()) as session:  # back to PILLAR_ADMIN_TOKEN for the rest of the suite
            session.exec(delete(AdminCredential))
            session.commit()
    assert (await api.http.get("/api/v1/users", headers=ADMIN)).status_code == 200


async def new_user_with(api, admin_token: str) -> tuple[str, str]:
    user_id = f"tok-csm-{uuid.uuid4().hex[:6]}"
    created = await api.http.post("/api/v1/users", json={"id": user_id, "name": user_id, "role": "csm"},
                                  headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    return user_id, created.json()["token"]


def test_pillar_admin_token_rotate_replaces_the_environment_token(sqlite_db):
    from cli import app

    seed()
    with Session(sqlite_db) as session:
        assert principal_for_token(session, ADMIN_TOKEN).role == "admin"
    result = CliRunner().invoke(app, ["admin-token", "rotate"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    with Session(sqlite_db) as session:
        assert principal_for_token(session, ADMIN_TOKEN) is None
        assert principal_for_token(session, token).id == "admin"
