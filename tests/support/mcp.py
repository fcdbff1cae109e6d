"""MCP clients for the tests: the official SDK's client over streamable HTTP (with a Pillar bearer token) and over
stdio (`pillar mcp`, the token in PILLAR_TOKEN)."""

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import Implementation


@asynccontextmanager
async def http_agent(base_url: str, token: str, name: str = "test-agent") -> AsyncIterator[Client]:
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        transport = streamable_http_client(f"{base_url}/mcp", http_client=http)
        async with Client(transport, client_info=Implementation(name=name, version="1")) as client:
            yield client


@asynccontextmanager
async def stdio_agent(token: str, name: str = "stdio-agent") -> AsyncIterator[Client]:
    """`pillar mcp` as a host starts it: the process's environment (database, Temporal) and the user's token."""
    command = str(Path(sys.executable).with_name("pillar"))
    env = {**os.environ, "PILLAR_TOKEN": token}
    server = StdioServerParameters(command=command, args=["mcp"], env=env)
    async with Client(server, client_info=Implementation(name=name, version="1")) as client:
        yield client


def error_of(result) -> dict:
    """A tool error's body: the API's {"error": {code, message, details}}."""
    assert result.is_error, result
    return json.loads(result.content[0].text)["error"]
