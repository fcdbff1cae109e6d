"""`pillar mcp`: Pillar's MCP tools over stdio, for an agent host that starts a local command (Claude Desktop, Claude
Code, Cursor). The agent acts as the user whose token is in PILLAR_TOKEN; DATABASE_URL and TEMPORAL_ADDRESS point
at the same database and Temporal as the API. Nothing but MCP messages goes to stdout."""

import asyncio
import os
import sys

import typer
from sqlmodel import Session


def mcp_command() -> None:
    """Serve the MCP tools over stdio as the user whose token is in PILLAR_TOKEN."""
    from api.agent.server import serve_stdio
    from api.deps import principal_for_token
    from core.db import get_engine

    token = os.environ.get("PILLAR_TOKEN", "").strip()
    with Session(get_engine()) as session:
        principal = principal_for_token(session, token or None)
    if principal is None:
        print("pillar mcp: set PILLAR_TOKEN to a Pillar user's token (unknown, revoked or missing)", file=sys.stderr)
        raise typer.Exit(2)
    asyncio.run(serve_stdio(principal))
