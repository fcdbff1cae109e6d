"""Issue 19 item 5 over HTTP: a user's channels (`/me/channels`, `/users/{id}/channels`), the Slack URL a secret of its
owner, URLs fenced when saved, and a signal's delivery log (`/signals/{id}/deliveries` and the signal's page) after
its page reached a real SMTP server and a Slack-compatible receiver."""

import httpx
import pytest

from core.settings import get_settings
from tests.support.http import assert_error, post_signal, unique
from tests.support.receivers import http_receiver, smtp_receiver
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")
SLACK = "https://hooks.slack.com/services/T0001/B0002/owner-only-secret"


async def new_user(api, role: str = "csm") -> tuple[str, dict]:
    user_id = unique("paged")
    created = await api.http.post("/api/v1/users", json={"id": user_id, "name": "Paged", "role": role, "manager_id": "lee"},
                                  headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    return user_id, {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.fixture
def settings_from_env(monkeypatch):
    """Settings the test sets in the environment, read again by the API and the worker; restored afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


async def test_the_slack_url_is_shown_to_its_owner_only_and_an_admin_keeps_it_when_setting_the_rest(api):
    user_id, own = await new_user(api)
    body = {"email": f"{user_id}@example.com", "slack_webhook_url": SLACK,
            "quiet_hours": {"start": "22:00", "end": "07:00", "zone": "Europe/Berlin"}}
    put = await api.http.put("/api/v1/me/channels", json=body, headers=own)
    assert put.status_code == 200, put.text
    mine = (await api.http.get("/api/v1/me/channels", headers=own)).json()
    assert mine == {"user_id": user_id, "inbox": True, "webhook_url": None, **body,
                    "quiet_hours": {"start": "22:00:00", "end": "07:00:00", "zone": "Europe/Berlin"}}

    as_admin = (await api.http.get(f"/api/v1/users/{user_id}/channels", headers=api.auth("admin"))).json()
    assert as_admin["slack_webhook_url"] == "https://hooks.slack.com/…" and as_admin["email"] == body["email"]
    assert "owner-only-secret" not in (await api.http.get(f"/api/v1/users/{user_id}/channels", headers=api.auth("admin"))).text
    assert_error(await api.http.get(f"/api/v1/users/{user_id}/channels", headers=api.auth("casey")), 403, "forbidden")
    assert_error(await api.http.put(f"/api/v1/users/{user_id}/channels", json={"email": None}, headers=api.auth("casey")),
                 403, "forbidden")

    changed = await api.http.put(f"/api/v1/users/{user_id}/channels", json={"email": "new@example.com"}, headers=api.auth("admin"))
    assert changed.status_code == 200 and changed.json()["slack_webhook_url"] == "https://hooks.slack.com/…"
    mine = (await api.http.get("/api/v1/me/channels", headers=own)).json()
    assert mine["slack_webhook_url"] == SLACK and mine["email"] == "new@example.com"


async def test_internal_and_plain_http_urls_and_unbounded_quiet_hours_are_refused_and_change_nothing(api, settings_from_env):
    user_id, own = await new_user(api)
    assert (await api.http.put("/api/v1/me/channels", json={"slack_webhook_url": SLACK}, headers=own)).status_code == 200
    settings_from_env.setenv("OUTBOUND_ALLOW_HTTP", "false")
    settings_from_env.setenv("OUTBOUND_ALLOW_LOOPBACK", "false")  # as in production
    get_settings.cache_clear()
    for url, words in (("http://hooks.example.com/x", "https"), ("https://127.0.0.1:8443/x", "internal"),
                       ("https://10.0.0.5/x", "internal"), ("https://[::1]/x", "internal"),
                       ("https://169.254.169.254/latest/meta-data/", "internal")):
        for field in ("slack_webhook_url", "webhook_url"):
            refused = await api.http.put("/api/v1/me/channels", json={field: url}, headers=own)
            assert_error(refused, 422, "invalid", words)
    for quiet in ({"start": "22:00", "end": "07:00", "zone": "Mars/Olympus"}, {"start": "22:00", "end": "22:00", "zone": "UTC"},
                  {"start": "22:00+02:00", "end": "07:00", "zone": "UTC"}):
        assert_error(await api.http.put("/api/v1/me/channels", json={"quiet_hours": quiet}, headers=own), 422, "invalid")
    assert_error(await api.http.put("/api/v1/me/channels", json={"email": "x" * 400 + "@example.com"}, headers=own), 422, "invalid")
    after = (await api.http.get("/api/v1/me/channels", headers=own)).json()
    assert after["slack_webhook_url"] == SLACK and after["webhook_url"] is None and after["quiet_hours"] is None


async def test_a_page_reaches_email_and_slack_and_its_delivery_log_shows_on_the_signal(api, settings_from_env):
    with http_receiver() as slack, smtp_receiver() as smtp:
        settings_from_env.setenv("PILLAR_SMTP_HOST", "127.0.0.1")
        settings_from_env.setenv("PILLAR_SMTP_PORT", str(smtp.port))
        settings_from_env.setenv("PILLAR_SMTP_STARTTLS", "false")
        get_settings.cache_clear()
        user_id, own = await new_user(api)
        body = {"email": f"{user_id}@example.com", "slack_webhook_url": slack.url("/slack")}
        assert (await api.http.put("/api/v1/me/channels", json=body, headers=own)).status_code == 200
        account_id = unique("paged-acct")
        await api.http.put(f"/api/v1/accounts/{account_id}", json={"name": "Paged Co", "arr": 10000, "team": {"csm": user_id}},
                           headers=api.auth("admin"))
        created = (await post_signal(api, family="nps_decline", severity="info", account_id=account_id)).json()

        [message] = await eventually(lambda: smtp.messages, timeout=30, what="the page by email")
        [posted] = await eventually(lambda: slack.bodies("/slack"), timeout=30, what="the page on Slack")
    assert message["X-Envelope-To"] == body["email"] and created["id"] in message.get_payload()[0].get_payload()
    assert set(posted) == {"text", "blocks"} and f"/signals/{created['id']}" in posted["blocks"][1]["elements"][0]["url"]

    async def logged():
        response = await api.http.get(f"/api/v1/signals/{created['id']}/deliveries", headers=own)
        assert response.status_code == 200, response.text
        rows = response.json()
        return len(rows) == 3 and all(r["status"] == "delivered" for r in rows) and rows
    rows = await eventually(logged, what="the delivery log")
    assert sorted(r["channel"] for r in rows) == ["email", "inbox", "slack"]
    assert all(r["user_id"] == user_id and r["kind"] == "page" and r["deferred_until"] is None for r in rows)
    assert "/slack" not in str(rows) and body["email"] not in str(rows)  # destinations are not in the log

    _, outsider = await new_user(api)  # another team: no account of theirs
    assert_error(await api.http.get(f"/api/v1/signals/{created['id']}/deliveries", headers=outsider), 404, "not_found")

    from api.main import app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test",
                                 headers={"Accept": "text/html"}) as browser:
        signed_in = await browser.post("/sign-in", data={"token": own["Authorization"].split()[1], "next": "/inbox"})
        assert signed_in.status_code == 303
        page = await browser.get(f"/signals/{created['id']}")
    assert page.status_code == 200 and "Deliveries" in page.text and "slack" in page.text and "email" in page.text
