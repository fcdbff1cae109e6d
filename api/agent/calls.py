"""Calling a tool, and approving what an agent proposed: the one path both the MCP server and the proposals API
take, so a tool's checks are the route's checks and an approved act is the act a person would have made."""

from typing import Any

from pydantic import ValidationError

import api.agent.acts  # noqa: F401 - registers the act tools
import api.agent.reads  # noqa: F401 - registers the read tools
from api.agent.registry import TOOLS, Tool, ToolContext
from api.deps import Principal
from core.db import in_session
from core.errors import PillarError
from models.proposals import Proposal
from services import proposals


def find_tool(name: str) -> Tool:
    tool = TOOLS.get(name)
    if tool is None:
        raise PillarError("not_found", f"no tool {name!r}")
    return tool


def parse(tool: Tool, arguments: dict[str, Any] | None):
    """The arguments as the tool's model, or the API's 422 with one entry per field."""
    try:
        return tool.args.model_validate(arguments or {})
    except ValidationError as error:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
        message = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
        raise PillarError("invalid", f"invalid arguments: {message}", problems) from error


def stored_arguments(args) -> dict[str, Any]:
    return args.model_dump(mode="json", exclude={"stated_reason"}, exclude_unset=False)


async def call(ctx: ToolContext, name: str, arguments: dict[str, Any] | None) -> dict:
    """Run a read; turn an act into a proposal (or, where the user's settings allow it, run it at once)."""
    tool = find_tool(name)
    args = parse(tool, arguments)
    await tool.authorize(ctx, args)
    if not tool.act:
        return tool.wrap(await tool.run(ctx, args))
    account_id = await tool.account_of(ctx, args) if tool.account_of else None
    record = dict(tool=tool.name, operation=" ".join(tool.operations[:1]), arguments=stored_arguments(args),
                  stated_reason=args.stated_reason, agent=ctx.agent, requested_by=ctx.principal.id,
                  account_id=account_id)
    if await in_session(ctx.session, proposals.auto_approves, ctx.principal.id, tool.name):
        ctx.via = f"proposed by agent {ctx.agent} on behalf of {ctx.principal.id}, approved by their agent settings"
        result = tool.wrap(await tool.run(ctx, args))  # refused → nothing recorded, as for a person
        proposal = await in_session(ctx.session, lambda s: proposals.mark_applied(
            s, proposals.propose(s, **record).id, ctx.principal.id, "auto-approved by agent settings", result))
        return {"proposal": proposal.model_dump(mode="json"), "result": result}
    proposal = await in_session(ctx.session, lambda s: proposals.propose(s, **record))
    return {"proposal": proposal.model_dump(mode="json"), "result": None}


async def approve(ctx: ToolContext, proposal_id: str, note: str | None) -> Proposal:
    """Run the proposed act as the approver, through the tool's own checks and service call; a refusal (403, 409,
    422) leaves the proposal pending and answers as the act would."""
    approver: Principal = ctx.principal
    proposal = await in_session(ctx.session, proposals.claim, approver, proposal_id)
    try:
        tool = find_tool(proposal.tool)
        args = parse(tool, {**proposal.arguments, "stated_reason": proposal.stated_reason})
        await tool.authorize(ctx, args)
        ctx.via = f"proposed by agent {proposal.agent} on behalf of {proposal.requested_by}, approved by {approver.id}"
        result = tool.wrap(await tool.run(ctx, args))
    except BaseException:
        await in_session(ctx.session, proposals.release, proposal_id)
        raise
    return await in_session(ctx.session, proposals.mark_applied, proposal_id, approver.id, note, result)
