"""The pages over HTTP on the dev server: sign-in and its cookie, sign-out, permissions like the API's, CSRF,
refusals shown in words with nothing changed, errors as pages for browsers but JSON for the API, live fragments,
and ops retrying a failed step."""

import html

import pytest
from sqlmodel import Session

from activities.play_actions import StepActionActivities
from api.deps import SESSION_COOKIE
from core.db import get_engine
from core.security import hash_token
from models.tables import User
from services.signals import signal_handle
from tests.support.http import post_signal, unique
from tests.support.pages import browser, csrf_of, signed_in
from tests.support.plays import FIELDS, BuggyStepActions, worker_on
from tests.support.stack import ADMIN_TOKEN
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_signing_in_sets_a_session_cookie_the_api_does_not_take(api):
    async with browser(api) as client:
        first = await client.get("/inbox")
        assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=/inbox"
        wrong = await client.post("/sign-in", data={"token": "pl_not-a-token", "next": "/inbox"})
        assert wrong.status_code == 401 and "That token is not known" in wrong.text
        assert SESSION_COOKIE not in client.cookies

        response = await client.post("/sign-in", data={"token": api.tokens["casey"], "next": "https://evil.example/"})
        assert response.status_code == 303 and response.headers["location"] == "/inbox"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie and "Max-Age=43200" in cookie
        page = await client.get("/inbox")
        assert page.status_code == 200 and "Casey Chen" in page.text and "My inbox" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

        api_call = await client.get("/api/v1/me/notifications", headers={"Accept": "application/json"})
        assert api_call.status_code == 401 and api_call.json()["error"]["code"] == "unauthorized"


async def test_a_sign_in_posted_from_another_site_is_refused(api):
    """Login CSRF: another site's form must not sign this browser in under someone else's token. Browsers say where
    a form post comes from (Origin, "null" from a sandboxed page; Referer; Sec-Fetch-Site)."""
    body = {"token": api.tokens["casey"], "next": "/inbox"}
    async with browser(api) as client:
        for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/a"},
                        {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://other.pillar.test", "Sec-Fetch-Site": "same-site"}):
            refused = await client.post("/sign-in", data=body, headers=headers)
            assert refused.status_code == 403 and "came from another site" in refused.text, headers
            assert "set-cookie" not in refused.headers and SESSION_COOKIE not in client.cookies
        ours = {"Origin": "http://pillar.test", "Referer": "http://pillar.test/sign-in?next=/inbox", "Sec-Fetch-Site": "same-origin"}
        accepted = await client.post("/sign-in", data=body, headers=ours)
        assert accepted.status_code == 303 and accepted.headers["location"] == "/inbox" and SESSION_COOKIE in client.cookies


async def test_signing_out_ends_the_session_for_good(api):
    async with signed_in(api, api.tokens["maya"]) as client:
        page = await client.get("/board")
        assert page.status_code == 200
        cookie = client.cookies[SESSION_COOKIE]
        forged = await client.post("/sign-out", data={"csrf": "wrong"})
        assert forged.status_code == 403 and (await client.get("/board")).status_code == 200
        out = await client.post("/sign-out", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=true"
        assert SESSION_COOKIE not in client.cookies
    async with browser(api) as replay:
        replay.cookies.set(SESSION_COOKIE, cookie)
        again = await replay.get("/board")
        assert again.status_code == 303 and again.headers["location"].startswith("/sign-in")
        live = await replay.get("/board/live", headers={"X-Pillar-Live": "1"})
        assert live.status_code == 401


async def test_a_replaced_token_ends_the_sessions_it_opened(api):
    user_id = unique("dana")
    created = await api.http.post("/api/v1/users", json={"id": user_id, "name": "Dana", "role": "csm", "manager_id": "lee"},
                                  headers=api.auth("admin"))
    async with signed_in(api, created.json()["token"]) as client:
        assert (await client.get("/inbox")).status_code == 200
        with Session(get_engine()) as session:
            user = session.get(User, user_id)
            user.token_hash = hash_token("pl_a-new-token-for-dana")
            session.add(user)
            session.commit()
        assert (await client.get("/inbox")).status_code == 303


async def test_pages_are_permission_checked_like_the_api(api):
    account_id = unique("quiet")
    body = {"name": "Quiet College", "arr": 25_000, "motion": "academic", "team": {"csm": "casey"}}
    assert (await api.http.put(f"/api/v1/accounts/{account_id}", json=body, headers=api.auth("admin"))).status_code == 200
    async with signed_in(api, api.tokens["casey"]) as casey:
        for path, text in (("/inbox", "My inbox"), ("/board", "Play board"), ("/accounts", "Quiet College"),
                           (f"/accounts/{account_id}", "No score yet"), ("/rituals", "Thursday at-risk review"),
                           ("/assessment", "answered yes")):
            page = await casey.get(path)
            assert page.status_code == 200 and text in page.text, (path, page.text[:300])
    for user_id, status in (("casey", 403), ("maya", 403), ("olga", 200)):
        async with signed_in(api, api.tokens[user_id]) as client:
            response = await client.get("/ops")
            assert response.status_code == status, (user_id, response.text[:300])
            if status == 403:
                assert "This page needs one of the roles: admin, ops" in response.text
                assert "Not allowed" in response.text
    async with signed_in(api, ADMIN_TOKEN) as admin:
        ops = await admin.get("/ops")
        assert ops.status_code == 200 and "Administrator" in ops.text


async def test_a_refused_action_is_shown_in_words_and_changes_nothing(api):
    created = (await post_signal(api, family="adoption_decay", severity="warning")).json()  # acme: owned by casey
    handle = signal_handle(api.client, created["id"])

    async def settled():
        description = (await handle.describe()).raw_description
        return not description.pending_activities and not description.HasField("pending_workflow_task")

    await eventually(settled)
    before = (await handle.fetch_history()).events
    async with signed_in(api, api.tokens["sky"]) as sky:
        inbox = await sky.get("/inbox")
        url = f"/signals/{created['id']}/acknowledge"
        forged = await sky.post(url, data={"csrf": "forged", "next": "/inbox"})
        assert forged.status_code == 403 and "this form has expired" in forged.text.lower()
        refused = await sky.post(url, data={"csrf": csrf_of(inbox.text), "next": "/inbox"})
        assert refused.status_code == 303 and refused.headers["location"] == "/inbox"
        shown = await sky.get("/inbox")
        assert "flash-error" in shown.text
        assert "Only an owner (casey) or an escalation target may acknowledge" in html.unescape(shown.text)
        assert "flash-error" not in (await sky.get("/inbox")).text  # shown once
    assert (await handle.fetch_history()).events == before

    async with signed_in(api, api.tokens["casey"]) as casey:
        inbox = await casey.get("/inbox")
        assert f'id="signal-{created["id"]}"' in inbox.text
        done = await casey.post(f"/signals/{created['id']}/acknowledge", data={"csrf": csrf_of(inbox.text), "next": "/inbox"})
        assert done.status_code == 303
        after = await casey.get("/inbox")
        assert "Signal acknowledged" in after.text and "Acknowledged — choose the task" in after.text
        assert "Book an enablement session for inactive users" in after.text


async def test_browsers_get_error_pages_and_the_api_keeps_its_json(api):
    async with signed_in(api, api.tokens["casey"]) as client:
        missing = await client.get("/runs/run-nope")
        assert missing.status_code == 404 and "Not found" in missing.text
        assert "No play run 'run-nope'" in html.unescape(missing.text)
        assert (await client.get("/accounts/nope")).status_code == 404
        assert (await client.get("/no-such-page")).status_code == 404
        api_missing = await client.get("/api/v1/play-runs/run-nope", headers={**api.auth("casey"), "Accept": "text/html"})
        assert api_missing.status_code == 404 and api_missing.json()["error"]["code"] == "not_found"


async def test_live_fragments_refresh_the_lists_and_leave_the_message_for_the_page(api):
    async with signed_in(api, api.tokens["maya"]) as maya:
        board = await maya.get("/board", params={"play": "renewal_save"})
        assert 'data-live-src="/board/live?play=renewal_save"' in board.text
        live = await maya.get("/board/live", params={"play": "renewal_save"}, headers={"X-Pillar-Live": "1"})
        assert live.status_code == 200 and "<html" not in live.text and "running play" in live.text

    signal_id = (await post_signal(api, family="adoption_decay", severity="warning")).json()["id"]
    await api.http.post(f"/api/v1/signals/{signal_id}/acknowledge", headers=api.auth("casey"))
    task = await api.http.post(f"/api/v1/signals/{signal_id}/tasks", json={"template_key": "adoption_enablement"},
                               headers=api.auth("casey"))
    async with signed_in(api, api.tokens["casey"]) as casey:
        inbox = await casey.get("/inbox")
        assert 'data-live-src="/inbox/live"' in inbox.text
        refused = await casey.post(f"/tasks/{task.json()['id']}/outcome", data={"csrf": csrf_of(inbox.text), "outcome": "done"})
        assert refused.status_code == 303
        fragment = await casey.get("/inbox/live", headers={"X-Pillar-Live": "1"})
        assert fragment.status_code == 200 and "<html" not in fragment.text and "is not an outcome" not in fragment.text
        page = await casey.get("/inbox")
        assert "&#39;done&#39; is not an outcome; valid outcomes are renewed, churned" in page.text


async def test_ops_retries_a_failed_step_from_the_pages(api, own_task_queue):
    """A step whose action gave up (a bug in the CRM entry) shows on the ops page and the run's page; a retry on the
    same bug says it failed again, the retry after the fix says it went through; a CSM may not retry."""
    async with worker_on(api.client, own_task_queue, BuggyStepActions):
        created = await api.http.post("/api/v1/play-runs", json={"play_key": "renewal_save", "account_id": "acme"},
                                      headers=api.auth("casey"))
        run_id = created.json()["id"]
        steps = f"/api/v1/play-runs/{run_id}/steps"
        assert (await api.http.post(f"{steps}/diagnose/complete", json={"fields": FIELDS["diagnose"]},
                                    headers=api.auth("casey"))).status_code == 200
        failed = await api.http.post(f"{steps}/exec_sponsor/complete", json={"fields": FIELDS["exec_sponsor"]},
                                     headers=api.auth("lee"))
        assert {s["key"]: s["status"] for s in failed.json()["steps"]}["exec_sponsor"] == "failed"

        async with signed_in(api, api.tokens["olga"]) as olga:
            async def on_the_ops_page():
                page = await olga.get("/ops")
                return page if f'id="retry-{run_id}-exec_sponsor"' in page.text else None

            page = await eventually(on_the_ops_page)
            assert "sponsor_title" in html.unescape(page.text) and "log_step_to_crm" in page.text
            run_page = await olga.get(f"/runs/{run_id}")
            assert "Retry a failed step" in run_page.text and "node-failed" in run_page.text
            retry = f"/runs/{run_id}/steps/exec_sponsor/retry"
            again = await olga.post(retry, data={"csrf": csrf_of(page.text), "next": "/ops", "reason": "one more try"})
            assert again.status_code == 303 and again.headers["location"] == "/ops"
            shown = html.unescape((await olga.get("/ops")).text)
            assert "Retried Engage an executive sponsor on both sides: it failed again" in shown

    async with worker_on(api.client, own_task_queue, StepActionActivities):
        async with signed_in(api, api.tokens["casey"]) as casey:
            inbox = await casey.get("/inbox")
            forbidden = await casey.post(f"/runs/{run_id}/steps/exec_sponsor/retry", data={"csrf": csrf_of(inbox.text)})
            assert forbidden.status_code == 403 and "This page needs one of the roles: admin, ops" in forbidden.text
        async with signed_in(api, api.tokens["olga"]) as olga:
            page = await olga.get(f"/runs/{run_id}")
            fixed = await olga.post(f"/runs/{run_id}/steps/exec_sponsor/retry",
                                    data={"csrf": csrf_of(page.text), "reason": "sponsor_title fix deployed"})
            assert fixed.status_code == 303 and fixed.headers["location"] == f"/runs/{run_id}"
            after = html.unescape((await olga.get(f"/runs/{run_id}")).text)
            assert "Retried Engage an executive sponsor on both sides: it went through" in after
            assert "Retry a failed step" not in after


async def test_the_session_cookie_is_secure_when_the_public_url_is_https_behind_a_plain_http_hop(api, monkeypatch):
    """Issue 15 item 8: TLS ends at the proxy, the hop to the API is http; PUBLIC_URL says people use https."""
    from core.settings import get_settings

    monkeypatch.setenv("PUBLIC_URL", "https://pillar.example.com")
    get_settings.cache_clear()
    try:
        async with browser(api) as client:
            response = await client.post("/sign-in", data={"token": api.tokens["casey"], "next": "/inbox"})
            assert response.status_code == 303 and "Secure" in response.headers["set-cookie"], response.headers
    finally:
        monkeypatch.delenv("PUBLIC_URL")
        get_settings.cache_clear()


async def test_the_accounts_page_shows_the_territory_each_owner_and_their_load(api):
    async with signed_in(api, api.tokens["maya"]) as maya:
        page = await maya.get("/accounts")
    assert page.status_code == 200
    section = page.text[page.text.index('id="territory"'):]
    assert "ARR at risk across" in section and "Casey Chen" in section and "Dana Diaz" in section  # Dana: a CSM with room
    async with signed_in(api, api.tokens["dana"]) as dana:
        own = (await dana.get("/accounts")).text
    assert "Dana Diaz" in own and "Casey Chen" not in own[own.index('id="territory"'):]
