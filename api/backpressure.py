"""Backpressure: a bounded number of requests in flight, and a bounded wait for a slot. Past that the API answers
503 with `Retry-After` at once instead of queueing without end; `/healthz` and `/metrics` are never queued."""

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response

NEVER_QUEUED = ("/healthz", "/metrics", "/static/")


class Backpressure:
    def __init__(self, app: ASGIApp, max_in_flight: int, queue_timeout: float, retry_after: int) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(max_in_flight)
        self.max_in_flight = max_in_flight
        self.queue_timeout = queue_timeout
        self.retry_after = retry_after
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NEVER_QUEUED):
            return await self.app(scope, receive, send)
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self.slots.acquire()
        except TimeoutError:
            busy = error_response(503, "unavailable",
                                  f"the server is busy ({self.max_in_flight} requests in flight): retry after "
                                  f"{self.retry_after}s", headers={"Retry-After": str(self.retry_after)})
            return await busy(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.slots.release()
