"""Receivers on this machine for what Pillar sends out: an HTTP endpoint (webhooks, Slack) and an SMTP server."""

import contextlib
import email
import json
import socket
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from aiosmtpd.controller import Controller


class HttpReceiver:
    """Takes POSTs at http://127.0.0.1:<port>/...; answers each with the next of `statuses` (then 204)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[str, dict, dict]] = []  # (path, headers, JSON body) of each accepted POST
        self.statuses = list(statuses or [])
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                if status < 300:
                    receiver.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                else:
                    receiver.refused += 1
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def bodies(self, path: str) -> list[dict]:
        return [body for at, _, body in self.received if at == path]


@contextlib.contextmanager
def http_receiver(statuses: list[int] | None = None) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(statuses)
    Thread(target=receiver.server.serve_forever, daemon=True).start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


class SmtpReceiver:
    """aiosmtpd's handler: keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A real SMTP server on 127.0.0.1 (plain, no STARTTLS) for the length of the block."""
    receiver = SmtpReceiver()
    receiver.port = free_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
