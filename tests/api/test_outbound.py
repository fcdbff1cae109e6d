"""Outbound URLs are fenced against internal addresses where the connection is made, and every delivery is signed
with its destination's own secret (issue 15, item 6)."""

import asyncio
import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import NotificationActivities
from core.errors import PillarError
from core.outbound import FencedTransport, OutboundRefused, check_outbound_url, destination_secret, signature
from core.settings import Settings, get_settings
from models.notifications import Notification, WebhookDelivery
from tests.support.http import assert_error, post_signal, unique
from tests.support.waiting import eventually


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: int | None = None) -> bool:
    """The receiver's check, as README "Webhooks" documents it."""
    import time

    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((now or int(time.time())) - int(parts["t"])) <= tolerance
    return fresh and hmac.compare_digest(expected, parts["v1"])


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://10.1.2.3/hook",
                                 "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/hook",
                                 "http://[::ffff:192.168.1.1]/hook", "http://100.64.0.1/hook"])
async def test_internal_addresses_are_refused_where_the_connection_is_made(url):
    async with httpx.AsyncClient(transport=FencedTransport(allow_loopback=False)) as http:
        with pytest.raises(OutboundRefused, match="not a public address"):
            await http.post(url, content=b"{}")


async def test_loopback_when_allowed_keeps_the_name_in_the_host_header(receiver):
    async with httpx.AsyncClient(transport=FencedTransport(allow_loopback=True)) as http:
        response = await http.post(f"http://localhost:{receiver}/hook", content=b"{}")
    assert response.status_code == 204
    assert Receiver.received[0][0]["host"] == f"localhost:{receiver}"


def test_urls_are_checked_when_saved():
    strict = Settings(outbound_allow_http=False, outbound_allow_loopback=False)
    assert check_outbound_url("https://hooks.example.com/pillar", strict, "webhook_url")
    for url, words in (("http://hooks.example.com/pillar", "https"), ("https://10.0.0.5/x", "internal"),
                       ("https://[fd00::1]/x", "internal"), ("https://127.0.0.1/x", "internal")):
        with pytest.raises(PillarError, match=words):
            check_outbound_url(url, strict, "webhook_url")
    local = Settings(outbound_allow_http=True, outbound_allow_loopback=True)
    assert check_outbound_url("http://127.0.0.1:8001/x", local, "webhook_url")


def test_each_destination_has_its_own_secret_and_the_signature_is_over_the_time_and_body():
    settings = Settings(pillar_signing_key="k" * 40)
    lee, casey = destination_secret(settings, "user:lee"), destination_secret(settings, "user:casey")
    assert lee != casey and lee.startswith("whsec_")
    header = signature(lee, b'{"a":1}', at=1_760_000_000)
    assert verify(lee, header, b'{"a":1}', now=1_760_000_010)
    assert not verify(casey, header, b'{"a":1}', now=1_760_000_010)
    assert not verify(lee, header, b'{"a":2}', now=1_760_000_010)
    assert not verify(lee, header, b'{"a":1}', now=1_760_000_000 + 3600)  # a replayed old delivery


async def test_a_fenced_delivery_fails_for_good_instead_of_retrying():
    settings = Settings(pillar_signing_key="k" * 40)
    async with httpx.AsyncClient(transport=FencedTransport(allow_loopback=False)) as http:
        activities = NotificationActivities(sessions=None, http=http, settings=lambda: settings)
        delivery = WebhookDelivery(url="http://169.254.169.254/", user_id="lee", notification=Notification(
            id="n1:lee", at="2026-12-01T09:00:00Z", kind="page", subject_type="signal", subject_id="s1", text="hi"))
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(activities.deliver_webhook, delivery)
    assert failed.value.non_retryable and failed.value.type == "OutboundRefused"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_users_webhook_is_signed_with_the_secret_only_they_can_read(api, receiver):
    user_id = unique("signed")
    body = {"id": user_id, "name": "Signed", "role": "csm", "manager_id": "lee",
            "webhook_url": f"http://127.0.0.1:{receiver}/pillar"}
    created = await api.http.post("/api/v1/users", json=body, headers=api.auth("admin"))
    assert created.status_code == 201, created.text
    own = {"Authorization": f"Bearer {created.json()['token']}"}
    account_id = unique("signed-acct")
    await api.http.put(f"/api/v1/accounts/{account_id}", json={"name": "Signed Co", "arr": 10000, "team": {"csm": user_id}},
                       headers=api.auth("admin"))
    await post_signal(api, family="nps_decline", severity="info", account_id=account_id)

    await eventually(lambda: Receiver.received, timeout=30)
    headers, delivered = Receiver.received[0]
    secret = (await api.http.get("/api/v1/me/webhook-secret", headers=own)).json()
    assert secret["destination"] == f"user:{user_id}" and verify(secret["secret"], headers["pillar-signature"], delivered)
    other = (await api.http.get("/api/v1/me/webhook-secret", headers=api.auth("casey"))).json()
    assert other["secret"] != secret["secret"] and not verify(other["secret"], headers["pillar-signature"], delivered)
    assert json.loads(delivered)["kind"] == "page"


@pytest.mark.asyncio(loop_scope="session")
async def test_an_internal_or_plain_http_webhook_is_refused_when_saved(api, monkeypatch):
    body = {"id": unique("fenced"), "name": "Fenced", "role": "csm", "webhook_url": "http://10.0.0.5/hook"}
    monkeypatch.setenv("OUTBOUND_ALLOW_HTTP", "false")
    monkeypatch.setenv("OUTBOUND_ALLOW_LOOPBACK", "false")
    get_settings.cache_clear()
    try:
        assert_error(await api.http.post("/api/v1/users", json=body, headers=api.auth("admin")), 422, "invalid", "https")
        body["webhook_url"] = "https://10.0.0.5/hook"
        assert_error(await api.http.post("/api/v1/users", json=body, headers=api.auth("admin")), 422, "invalid", "internal")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert (await api.http.get(f"/api/v1/users/{body['id']}", headers=api.auth("admin"))).status_code == 404
