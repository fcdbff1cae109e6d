"""The MCP server: the registry's tools (with the caller's role deciding which are listed), prompts and resources,
served over streamable HTTP inside the API at /mcp (Bearer token = a Pillar user's token) and over stdio by
`pillar mcp` (the token in PILLAR_TOKEN). Either way the agent acts as that user: their role, their accounts."""

import json
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import Receive, Scope, Send

from api.agent import calls, guide
from api.agent.registry import TOOLS, ToolContext
from api.deps import Principal, cached_principal
from api.errors import error_response
from core.db import get_async_engine, in_session
from core.errors import PillarError
from services.read_cache import ReadCache

PRINCIPAL = "pillar.principal"  # the ASGI scope key the HTTP transport's bearer check fills
INSTRUCTIONS = (
    "Pillar runs a revenue playbook as durable workflows: signals with owners and SLAs, tasks with outcomes, plays "
    "of steps, gated handoffs, weekly rituals. Read freely with the query tools (you see what your user may see). "
    "Act tools (acknowledge, reassign, complete a step, ...) do not act at once: each creates a proposal a person "
    "approves in Pillar (/proposals); say why in `stated_reason`. Refusals come back as tool errors with the API's "
    "code, message and details.")


class Transport:
    """How a call finds its caller: the HTTP request's bearer principal, or the stdio process's own."""

    def __init__(self, cache: ReadCache, principal: Principal | None = None) -> None:
        self.cache = cache
        self.principal = principal

    def caller(self, ctx) -> Principal:
        request = getattr(ctx, "request", None)
        principal = request.scope.get(PRINCIPAL) if request is not None else self.principal
        if principal is None:
            raise PillarError("unauthorized", "no Pillar user: send 'Authorization: Bearer <token>'")
        return principal

    @asynccontextmanager
    async def context(self, ctx):
        params = ctx.session.client_params
        agent = params.client_info.name if params and params.client_info else "an MCP client"
        async with AsyncSession(get_async_engine(), expire_on_commit=False) as session:
            yield ToolContext(principal=self.caller(ctx), session=session, cache=self.cache, agent=agent)


def error_result(error: PillarError) -> types.CallToolResult:
    body = {"error": {"code": error.code, "message": error.message, **({"details": error.details}
                                                                        if error.details is not None else {})}}
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(body, default=str))], is_error=True)


def build_server(transport: Transport) -> Server:
    async def list_tools(ctx, params) -> types.ListToolsResult:
        principal = transport.caller(ctx)
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, description=t.description, input_schema=t.input_schema(),
                       output_schema=t.output_schema(),
                       annotations=types.ToolAnnotations(read_only_hint=not t.act, destructive_hint=t.act))
            for t in TOOLS.values() if t.allowed(principal)])

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            async with transport.context(ctx) as tool_ctx:
                structured = await calls.call(tool_ctx, params.name, params.arguments)
        except PillarError as error:
            return error_result(error)
        return types.CallToolResult(content=[types.TextContent(text=json.dumps(structured, default=str))],
                                    structured_content=structured)

    async def list_prompts(ctx, params) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=guide.PROMPTS)

    async def get_prompt(ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        return guide.prompt(params.name, params.arguments or {})

    async def list_resources(ctx, params) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=guide.RESOURCES)

    async def read_resource(ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        transport.caller(ctx)
        return types.ReadResourceResult(contents=[guide.read(str(params.uri))])

    return Server("pillar", version="0.1.0", instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call_tool, on_list_prompts=list_prompts, on_get_prompt=get_prompt,
                  on_list_resources=list_resources, on_read_resource=read_resource)


class BearerGate:
    """The /mcp endpoint's door: the same bearer tokens as /api/v1 (401 in the API's error shape otherwise); the
    principal rides in the ASGI scope to the tool calls."""

    def __init__(self, sessions: StreamableHTTPSessionManager, cache: ReadCache) -> None:
        self.sessions = sessions
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        principal = None
        if scheme.lower() == "bearer" and token.strip():
            async with AsyncSession(get_async_engine(), expire_on_commit=False) as session:
                principal = await in_session(session, cached_principal, self.cache, token.strip())
        if principal is None:
            message = "missing or unknown bearer token: send 'Authorization: Bearer <your Pillar token>'"
            await error_response(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        scope[PRINCIPAL] = principal
        await self.sessions.handle_request(scope, receive, send)


def http_endpoint() -> tuple[BearerGate, StreamableHTTPSessionManager]:
    """The ASGI endpoint for /mcp and the session manager whose run() the app's lifespan holds. Stateless, JSON
    answers: any API process answers any request (no session affinity behind a load balancer)."""
    cache = ReadCache()
    sessions = StreamableHTTPSessionManager(app=build_server(Transport(cache)), json_response=True, stateless=True)
    return BearerGate(sessions, cache), sessions


async def serve_stdio(principal: Principal) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(Transport(ReadCache(), principal))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def tool_count(principal: Any = None) -> int:
    return sum(1 for t in TOOLS.values() if principal is None or t.allowed(principal))
