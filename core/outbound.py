"""Outbound HTTP (webhooks, Slack, agendas, the CRM), fenced against internal addresses and signed; and email.

The fence is checked when the connection is made, on the addresses the name resolves to then, and the connection goes
to the address that was checked: a name that resolved to a public address when the URL was saved and to 10.0.0.5 (or
169.254.169.254, the cloud metadata service) now is refused, and DNS cannot change the answer between check and
connect. Loopback is allowed only with `OUTBOUND_ALLOW_LOOPBACK` (`make run` sets it for local receivers).

Every delivery carries `Pillar-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the
destination's own secret (see `destination_secret`); README "Webhooks" shows how a receiver checks it."""

import asyncio
import hashlib
import hmac
import ipaddress
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage

import httpx
from temporalio.exceptions import ApplicationError

from core.errors import PillarError
from core.security import derived_key
from core.settings import Settings

SIGNATURE_HEADER = "Pillar-Signature"


class OutboundRefused(httpx.TransportError):
    """The destination resolves to an address Pillar does not send to."""


def _allowed(address: str, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global or (allow_loopback and ip.is_loopback)


class FencedTransport(httpx.AsyncBaseTransport):
    """Resolves the host, refuses it unless every address is public, and connects to the checked address (the
    original name stays in the Host header and in TLS's server name, so certificates are verified as usual)."""

    def __init__(self, allow_loopback: bool = False, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.allow_loopback = allow_loopback
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise httpx.ConnectError(f"cannot resolve {host}: {error}", request=request) from error
        addresses = sorted({info[4][0] for info in found})
        refused = [a for a in addresses if not _allowed(a, self.allow_loopback)]
        if refused or not addresses:
            raise OutboundRefused(f"{host} resolves to {', '.join(refused) or 'nothing'}: not a public address", request=request)
        request.url = request.url.copy_with(host=addresses[0])
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def fenced_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=FencedTransport(settings.outbound_allow_loopback), follow_redirects=False)


def check_outbound_url(url: str, settings: Settings, field: str) -> str:
    """At save time: https (http only with OUTBOUND_ALLOW_HTTP, for local development), and no internal address
    written as a number. A name is checked again at every delivery, where it resolves."""
    parsed = httpx.URL(url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and settings.outbound_allow_http):
        raise PillarError("invalid", f"{field} must be an https URL", {"field": field})
    try:
        literal = ipaddress.ip_address(parsed.host)
    except ValueError:
        literal = None
    if literal is not None and not _allowed(str(literal), settings.outbound_allow_loopback):
        raise PillarError("invalid", f"{field} points at an internal address ({parsed.host})", {"field": field})
    return url


def destination_secret(settings: Settings, destination: str) -> str:
    """Each destination's signing secret (`user:<id>`, `ritual:<key>`, `crm`), derived from PILLAR_SIGNING_KEY: a
    receiver holds only its own, and rotating the key rotates them all."""
    if not settings.pillar_signing_key:
        raise RuntimeError("PILLAR_SIGNING_KEY is not set: deliveries cannot be signed")
    return f"whsec_{derived_key(settings.pillar_signing_key, destination)}"


def signature(secret: str, body: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


async def post_signed(http: httpx.AsyncClient, url: str, body: bytes, secret: str, timeout: float,
                      headers: dict[str, str] | None = None) -> httpx.Response:
    """POST `body` with its signature. A fenced address fails the activity for good (retrying cannot make it public)."""
    try:
        return await http.post(url, content=body, timeout=timeout, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, body), **(headers or {})})
    except OutboundRefused as refused:
        raise ApplicationError(str(refused), type="OutboundRefused", non_retryable=True) from refused


def send_email(settings: Settings, message: EmailMessage) -> None:
    """Blocking (smtplib): run it in a thread. A missing server or a refused recipient fails for good; a server that
    is down or busy raises, so Temporal retries."""
    if not settings.pillar_smtp_host:
        raise ApplicationError("PILLAR_SMTP_HOST is not set: email pages cannot be sent", type="SmtpNotConfigured",
                               non_retryable=True)
    message["From"] = settings.pillar_smtp_from
    try:
        with smtplib.SMTP(settings.pillar_smtp_host, settings.pillar_smtp_port,
                          timeout=settings.pillar_smtp_timeout_seconds) as smtp:
            if settings.pillar_smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.pillar_smtp_user:
                smtp.login(settings.pillar_smtp_user, settings.pillar_smtp_password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as refused:
        raise ApplicationError(f"the SMTP server refused the recipient: {refused.recipients}", type="SmtpRefused",
                               non_retryable=True) from refused
