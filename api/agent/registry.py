"""The one registry of MCP tools. A tool names the API operation(s) it stands for, so tests/unit/test_agent_tools.py
fails when the API gains an operation with neither a tool nor a listed exclusion: the surface grows with the product.

A read tool runs at once. An act (`act=True`) run by an agent becomes a pending proposal (services/proposals.py);
a person approves it (POST /api/v1/proposals/{id}/approve) and then it runs here, through the same service call,
update and validator a person's request makes, with the approver as the actor."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, create_model
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import Principal, check_roles, temporal_client
from api.visibility import check_visible
from core.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest, decode_cursor
from models.common import Actor, Role
from models.proposals import Proposal, StatedReason
from services.read_cache import ReadCache

T = TypeVar("T")


@dataclass
class ToolContext:
    """Who calls (the user whose token the agent holds, or the approver of a proposal) and what the call may use."""

    principal: Principal
    session: AsyncSession
    cache: ReadCache
    agent: str = "an MCP client"
    via: str | None = None  # "proposed by agent X on behalf of Y, approved by Z": set when a proposal runs

    def noted(self, reason: str | None, limit: int = 2000) -> str | None:
        """A reason the act records (a timeline, the ops audit), saying that an agent proposed it and who approved."""
        if self.via is None:
            return reason
        return (f"{reason} ({self.via})" if reason else self.via)[:limit]

    async def client(self) -> Client:
        return await temporal_client()

    async def actor(self) -> Actor:
        return await self.principal.actor(self.session)


class Paged(BaseModel):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page")
    cursor: str | None = Field(default=None, max_length=2000, description="`next_cursor` of the previous page")

    def page(self) -> PageRequest:
        if self.cursor is not None:
            decode_cursor(self.cursor)
        return PageRequest(limit=self.limit, cursor=self.cursor)


class Listed(BaseModel, Generic[T]):
    """A page of a list: `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def listed(page: Page) -> dict:
    return {"items": page.items, "next_cursor": page.next_cursor}


class Act(BaseModel):
    """Every act says why the agent asks for it; the approver reads it."""

    stated_reason: StatedReason


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    output: Any  # a model, or list[model] (sent as {"items": [...]}: a tool's result is an object)
    run: Callable[[ToolContext, Any], Awaitable[Any]]
    operations: tuple[str, ...] = ()  # "GET /api/v1/signals/{signal_id}": the API operations this tool is
    roles: tuple[Role, ...] = ()  # only these roles (and admin); () = every signed-in user
    sees: tuple[str, str] | None = None  # (kind, argument): the account of that signal/run/handoff/task/account
    act: bool = False
    account_of: Callable[[ToolContext, Any], Awaitable[str | None]] | None = None  # an act's account, for proposals
    result_model: type[BaseModel] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        output = self.output
        if getattr(output, "__origin__", None) is list:
            output = create_model(f"{_camel(self.name)}Items", items=(output, ...))
        if self.act:
            output = create_model(f"{_camel(self.name)}Outcome", proposal=(Proposal, ...), result=(output | None, None))
        object.__setattr__(self, "result_model", output)

    def allowed(self, principal: Principal) -> bool:
        return not self.roles or principal.role in {Role.admin, *self.roles}

    async def authorize(self, ctx: ToolContext, args: BaseModel) -> None:
        """The checks the route makes before its body: its roles (403) and whose account it touches (404)."""
        if self.roles:
            check_roles(ctx.principal, self.roles, self.name)
        if self.sees:
            kind, argument = self.sees
            await check_visible(ctx.session, ctx.principal, kind, getattr(args, argument))

    def input_schema(self) -> dict:
        return self.args.model_json_schema()

    def output_schema(self) -> dict:
        return self.result_model.model_json_schema(mode="serialization")

    def dump(self, result: Any) -> Any:
        """The act's or read's result as JSON, in the shape of `output`."""
        adapter = TypeAdapter(self.output)
        return adapter.dump_python(adapter.validate_python(result, from_attributes=True), mode="json")

    def wrap(self, result: Any) -> dict:
        if getattr(self.output, "__origin__", None) is list:
            return {"items": self.dump(result)}
        return self.dump(result)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


TOOLS: dict[str, Tool] = {}


def register(*tools: Tool) -> None:
    for tool in tools:
        if tool.name in TOOLS:
            raise ValueError(f"two MCP tools named {tool.name!r}")
        TOOLS[tool.name] = tool


# API operations no tool stands for, and why (tests/unit/test_agent_tools.py: every operation is a tool or here).
_PERSON = "credentials and directory membership: an admin's act, never an agent's"
_FEED = "raw event feeds and detection runs are machine callers' (integration role); agents read events (list_events)"
_DECISION = "the person's decision on an agent's proposal: an agent never approves or rejects"
_SETTINGS = "a person's own control over their agents: not for the agents to read or change"
_CHANNELS = "where a person is paged (a Slack URL is a secret) is theirs to set, not an agent's"
EXCLUDED: dict[str, str] = {
    "POST /api/v1/users": _PERSON,
    "POST /api/v1/users/{user_id}/token": _PERSON,
    "DELETE /api/v1/users/{user_id}/token": _PERSON,
    "POST /api/v1/users/{user_id}/disable": _PERSON,
    "POST /api/v1/users/{user_id}/enable": _PERSON,
    "POST /api/v1/admin/token": _PERSON,
    "GET /api/v1/me/webhook-secret": "a signing secret: never handed to an agent",
    "GET /api/v1/me/channels": _CHANNELS,
    "PUT /api/v1/me/channels": _CHANNELS,
    "GET /api/v1/users/{user_id}/channels": _CHANNELS,
    "PUT /api/v1/users/{user_id}/channels": _CHANNELS,
    "POST /api/v1/events": _FEED,
    "POST /api/v1/events/batch": _FEED,
    "POST /api/v1/detection/run": _FEED,
    "GET /api/v1/agendas/{agenda_id}.html": "the printable rendition of get_agenda",
    "POST /api/v1/proposals/{proposal_id}/approve": _DECISION,
    "POST /api/v1/proposals/{proposal_id}/reject": _DECISION,
    "GET /api/v1/me/agent-settings": _SETTINGS,
    "PUT /api/v1/me/agent-settings": _SETTINGS,
}
