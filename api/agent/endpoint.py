"""/mcp in the API process. The MCP SDK takes seconds of CPU to import (its protocol models), so it loads in the
background once the app has started: /healthz and the API answer meanwhile, and an MCP request that comes first waits
for it (bounded), then is served by the SDK's streamable HTTP session manager."""

import asyncio
import contextlib
import importlib
import logging

from starlette.types import Receive, Scope, Send

from api.errors import error_response

log = logging.getLogger("pillar.mcp")
LOAD_TIMEOUT = 60.0


class McpEndpoint:
    def __init__(self) -> None:
        self.gate = None
        self.ready = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self):
        """Held by the app's lifespan: loads the SDK, then keeps its session manager running until shutdown."""
        stop = asyncio.Event()
        task = asyncio.create_task(self._serve(stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await task

    async def _serve(self, stop: asyncio.Event) -> None:
        try:
            server = await asyncio.to_thread(importlib.import_module, "api.agent.server")
            gate, sessions = server.http_endpoint()
            async with sessions.run():
                self.gate = gate
                self.ready.set()
                await stop.wait()
        except Exception:
            log.exception("the MCP endpoint did not start")
            self.ready.set()
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), LOAD_TIMEOUT)
        if self.gate is None:
            await error_response(503, "unavailable", "the MCP endpoint is not running: try again shortly")(scope, receive, send)
            return
        await self.gate(scope, receive, send)
