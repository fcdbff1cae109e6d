"""The authorization matrix: every route of the OpenAPI document and every page × every role × (an account the
caller's team holds, an account of another team). The expected access is the explicit table ROUTES below; a route
that is not in it (or an entry that names no route) fails `test_every_route_is_classified`, so a new route cannot
skip the matrix.

Classes:
- `public`: no token needed.             - `any`: every signed-in role, nothing account-scoped.
- `roles(...)`: only those roles (admin always): others 403.
- `subject(kind)`: the path names a signal, run, handoff, task or account: 404 when the caller may not see its
  account (exactly the missing-id answer), anything but 404 when they may.
- `listing(key)`: a list: rows of the other team's account appear only for book-wide roles.
- `body_account`: the body names an account: one the caller may not see is an unknown account (422).
Bodies sent are deliberately incomplete where a route has one, so an allowed call stops at validation (422) and the
matrix changes nothing; the refusal under test comes first (dependencies run before the body is read)."""

import re
import uuid

import httpx
import pytest
import pytest_asyncio

from tests.support.stack import ADMIN_TOKEN
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROLE_USERS = {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky", "manager": "maya",
              "vp": "victor", "revops": "rory", "ops": "olga", "admin": "admin", "integration": None}
BOOK_WIDE = {"admin", "vp", "revops", "ops", "integration"}
EDITORS = {"revops"}


def public():
    return ("public",)


def any_role():
    return ("any",)


def roles(*names):
    return ("roles", frozenset(names) | {"admin"})


def subject(kind, then=None):
    return ("subject", kind, then)


def listing(key="account_id"):
    return ("listing", key)


def body_account(field="account_id"):
    return ("body_account", field)


RITUAL_RUNNERS = roles("manager", "vp", "csm_lead", "revops")
EVENT_WRITERS = roles("revops", "ops", "integration")
OPS = roles("ops")
TERRITORY_PLANNERS = roles("manager", "vp", "cro", "revops")

ROUTES = {
    "GET /healthz": public(),
    "GET /metrics": public(),
    # directory
    "POST /api/v1/users": roles(),
    "GET /api/v1/users": any_role(),
    "GET /api/v1/users/{user_id}": any_role(),
    # an admin or the user themself: the matrix's {user_id} is casey, the csm (allowed calls are not made: below)
    "POST /api/v1/users/{user_id}/token": roles("csm"),
    "DELETE /api/v1/users/{user_id}/token": roles("csm"),
    "POST /api/v1/users/{user_id}/disable": roles(),
    "POST /api/v1/users/{user_id}/enable": roles(),
    "POST /api/v1/admin/token": roles(),
    "GET /api/v1/me/notifications": any_role(),
    "GET /api/v1/me/webhook-secret": any_role(),  # the caller's own
    "GET /api/v1/me/channels": any_role(),  # the caller's own
    "PUT /api/v1/me/channels": any_role(),
    "GET /api/v1/users/{user_id}/channels": roles("csm"),  # an admin or casey themself
    "PUT /api/v1/users/{user_id}/channels": roles("csm"),
    "PUT /api/v1/accounts/{account_id}": roles("revops"),
    "GET /api/v1/accounts": listing("id"),
    "GET /api/v1/accounts/{account_id}": subject("account"),
    "GET /api/v1/accounts/{account_id}/score": subject("account"),
    "GET /api/v1/accounts/{account_id}/calendar": subject("account"),
    "POST /api/v1/inventory/import": roles("revops"),
    "GET /api/v1/accounts/{account_id}/score/history": subject("account"),
    "GET /api/v1/accounts/{account_id}/financials": subject("account"),
    # signals and tasks
    "POST /api/v1/signals": body_account(),
    "GET /api/v1/signals": listing(),
    "GET /api/v1/signals/{signal_id}": subject("signal"),
    "POST /api/v1/signals/{signal_id}/acknowledge": subject("signal"),
    "POST /api/v1/signals/{signal_id}/tasks": subject("signal"),
    "POST /api/v1/signals/{signal_id}/reassign": subject("signal"),
    "GET /api/v1/signals/{signal_id}/deliveries": subject("signal"),
    "GET /api/v1/tasks": listing("signal_id"),
    "POST /api/v1/tasks/{task_id}/outcome": subject("task"),
    # plays
    "GET /api/v1/plays": any_role(),
    "POST /api/v1/play-runs": body_account(),
    "GET /api/v1/play-runs": listing(),
    "GET /api/v1/play-runs/{run_id}": subject("play_run"),
    "POST /api/v1/play-runs/{run_id}/steps/{step_key}/complete": subject("play_run"),
    "POST /api/v1/play-runs/{run_id}/steps/{step_key}/retry": subject("play_run", then=OPS),
    "POST /api/v1/play-runs/{run_id}/steps/{step_key}/nudge": subject("play_run"),  # the validator: the owner's managers
    "GET /api/v1/metrics/response": any_role(),  # each counts what they may see (tests/unit/test_response_metrics_db.py)
    "POST /api/v1/play-runs/{run_id}/exit": subject("play_run"),
    # handoffs
    "POST /api/v1/handoffs": body_account(),
    "GET /api/v1/handoffs": listing(),
    "GET /api/v1/handoffs/{handoff_id}": subject("handoff"),
    "PATCH /api/v1/handoffs/{handoff_id}": subject("handoff"),
    "POST /api/v1/handoffs/{handoff_id}/submit": subject("handoff"),
    "POST /api/v1/handoffs/{handoff_id}/accept": subject("handoff"),
    "POST /api/v1/handoffs/{handoff_id}/reject": subject("handoff"),
    "POST /api/v1/handoffs/{handoff_id}/override": subject("handoff"),
    "GET /api/v1/handoffs/{handoff_id}/audit": subject("handoff"),
    # detection, scoring, decisions
    "POST /api/v1/events": EVENT_WRITERS,
    "POST /api/v1/events/batch": EVENT_WRITERS,
    "GET /api/v1/events": listing(),
    "POST /api/v1/detection/run": EVENT_WRITERS,
    "POST /api/v1/scenarios/nrr": body_account("account_ids"),
    # rituals, agendas, action items (team rituals: not account-scoped, see README)
    "GET /api/v1/rituals": any_role(),
    "POST /api/v1/rituals/{ritual_key}/trigger": RITUAL_RUNNERS,
    "GET /api/v1/rituals/{ritual_key}/agendas": any_role(),
    "GET /api/v1/rituals/{ritual_key}/agendas/latest": any_role(),
    "GET /api/v1/agendas": any_role(),
    "GET /api/v1/agendas/{agenda_id}.html": any_role(),
    "GET /api/v1/agendas/{agenda_id}": any_role(),
    "POST /api/v1/agendas/{agenda_id}/action-items": any_role(),
    "POST /api/v1/agendas/{agenda_id}/decisions": RITUAL_RUNNERS,
    "GET /api/v1/action-items": any_role(),
    "GET /api/v1/action-items/{item_id}": any_role(),
    "POST /api/v1/action-items/{item_id}/outcome": any_role(),
    "GET /api/v1/cadences/metrics": any_role(),
    "GET /api/v1/cadences/rollout": any_role(),
    "GET /api/v1/assessment": any_role(),
    # flywheel
    "GET /api/v1/flywheel/proposals": any_role(),
    "GET /api/v1/flywheel/proposals/{proposal_id}": any_role(),
    "POST /api/v1/flywheel/proposals/{proposal_id}/approve": roles("revops"),
    "POST /api/v1/flywheel/proposals/{proposal_id}/reject": roles("revops"),
    "POST /api/v1/flywheel/proposals/{proposal_id}/revert": roles("revops"),
    "POST /api/v1/flywheel/run": roles("revops"),
    # territory (Layer III): health and allocations filter to what the caller may see (tests/api/test_territory_api.py)
    "GET /api/v1/territory": any_role(),
    "GET /api/v1/territory/allocations": any_role(),
    "POST /api/v1/territory/rebalance": TERRITORY_PLANNERS,
    "GET /api/v1/territory/proposals": TERRITORY_PLANNERS,
    "GET /api/v1/territory/proposals/{proposal_id}": TERRITORY_PLANNERS,
    "POST /api/v1/territory/proposals/{proposal_id}/approve": roles("vp", "cro", "revops"),
    "POST /api/v1/territory/proposals/{proposal_id}/reject": roles("vp", "cro", "revops"),
    # operations
    # agent proposals (what agents asked for over MCP; an unknown id is a 404 to everyone) and the MCP endpoint
    "GET /api/v1/proposals": listing(),
    "GET /api/v1/proposals/{proposal_id}": any_role(),
    "POST /api/v1/proposals/{proposal_id}/approve": any_role(),
    "POST /api/v1/proposals/{proposal_id}/reject": any_role(),
    "GET /api/v1/me/agent-settings": any_role(),
    "PUT /api/v1/me/agent-settings": any_role(),
    "POST /mcp": any_role(),
    "GET /api/v1/ops/executions": OPS,
    "POST /api/v1/ops/executions/{workflow_id}/replay": OPS,
    "POST /api/v1/ops/executions/{workflow_id}/reset": OPS,
    "POST /api/v1/ops/executions/{workflow_id}/reconcile": OPS,
    "POST /api/v1/ops/executions/reconcile": OPS,
    # pages
    "GET /": public(),
    "GET /sign-in": public(),
    "POST /sign-in": public(),
    "POST /sign-out": any_role(),
    "GET /inbox": any_role(),
    "GET /inbox/live": any_role(),
    "GET /signals/{signal_id}": subject("signal"),
    "POST /signals/{signal_id}/acknowledge": subject("signal"),
    "POST /signals/{signal_id}/tasks": subject("signal"),
    "POST /tasks/{task_id}/outcome": subject("task"),
    "POST /action-items/{item_id}/outcome": any_role(),
    "GET /board": listing("board"),
    "GET /board/live": listing("board"),
    "GET /runs/{run_id}": subject("play_run"),
    "POST /runs/{run_id}/steps/{step_key}/complete": subject("play_run"),
    "POST /runs/{run_id}/exit": subject("play_run"),
    "POST /runs/{run_id}/steps/{step_key}/retry": subject("play_run", then=OPS),
    "POST /runs/{run_id}/steps/{step_key}/nudge": subject("play_run"),
    "GET /dashboard": roles("manager", "vp", "cro", "revops"),
    "GET /dashboard/{chart}.csv": roles("manager", "vp", "cro", "revops"),
    "GET /accounts": listing("page"),
    "GET /accounts/{account_id}": subject("account"),
    "GET /rituals": any_role(),
    "GET /agendas/{agenda_id}": any_role(),
    "GET /assessment": any_role(),
    "GET /proposals": listing("page"),
    "POST /proposals/{proposal_id}/approve": any_role(),
    "POST /proposals/{proposal_id}/reject": any_role(),
    "POST /signals/{signal_id}/reassign": subject("signal"),
    "POST /accounts/{account_id}/play-runs": subject("account"),
    "GET /handoffs": listing("page"),
    "GET /handoffs/new": any_role(),
    "POST /handoffs": any_role(),
    "GET /handoffs/{handoff_id}": subject("handoff"),
    "POST /handoffs/{handoff_id}/save": subject("handoff"),
    "POST /handoffs/{handoff_id}/submit": subject("handoff"),
    "POST /handoffs/{handoff_id}/accept": subject("handoff"),
    "POST /handoffs/{handoff_id}/reject": subject("handoff"),
    "POST /handoffs/{handoff_id}/override": subject("handoff"),
    "GET /agendas/{agenda_id}/meeting": any_role(),
    "POST /agendas/{agenda_id}/action-items": any_role(),
    "POST /agendas/{agenda_id}/decisions": any_role(),
    "GET /admin/users": roles(),
    "POST /admin/users": roles(),
    "POST /admin/users/{user_id}/token": roles(),
    "POST /admin/users/{user_id}/revoke": roles(),
    "POST /admin/users/{user_id}/disable": roles(),
    "POST /admin/users/{user_id}/enable": roles(),
    "GET /proposals/flywheel": any_role(),
    "POST /proposals/flywheel/{proposal_id}/{action}": roles("revops"),
    "GET /config": any_role(),
    "GET /config/{slug}": any_role(),
    "POST /config/{slug}": roles("revops"),
    "GET /config/{slug}/versions": any_role(),
    "GET /config/{slug}/versions/{version}": any_role(),
    "GET /ops": OPS,
    "GET /inventory": roles("revops"),
    "POST /inventory": roles("revops"),
    "POST /ops/executions/{workflow_id}/replay": OPS,
    "POST /ops/executions/{workflow_id}/reset": OPS,
}
# the config routes: everyone reads every version, revops (and admin) write
CONFIG = ["routing", "task-templates", "handoffs", "rituals", "signal-definitions", "score-weights", "cost-model", "territory",
          "account-calendars", "rotations", "calendars"]
for _name in CONFIG:
    ROUTES[f"GET /api/v1/config/{_name}"] = any_role()
    ROUTES[f"GET /api/v1/config/{_name}/{{version}}"] = any_role()
    ROUTES[f"PUT /api/v1/config/{_name}"] = roles("revops")
ROUTES["GET /api/v1/rotations/{key}/on-call"] = any_role()  # who is on call: directory data, like the users list
PAGE_PREFIXES = ("/api/", "/healthz", "/metrics", "/mcp")  # called with the bearer token, not a page's cookie


def all_routes() -> set[str]:
    """Every operation of the OpenAPI document, and every page (the app's routes left out of the document)."""
    from api.main import app

    found = {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items()
             for method in item if method in {"get", "post", "put", "patch", "delete"}}

    def walk(routes):
        for route in routes:
            build = getattr(route, "effective_candidates", None)
            if callable(build):
                yield from walk(build())
            else:
                yield route

    for route in walk(app.router.routes):
        if getattr(route, "include_in_schema", True) or not getattr(route, "methods", None):
            continue
        if route.path in {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}:
            continue
        found |= {f"{m} {route.path}" for m in route.methods if m != "HEAD"}
    return found


async def test_every_route_is_classified():
    found = all_routes()
    assert not found - set(ROUTES), f"routes missing from the authorization matrix: {sorted(found - set(ROUTES))}"
    assert not set(ROUTES) - found, f"matrix entries that name no route: {sorted(set(ROUTES) - found)}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class World:
    """Two accounts with their own teams, and on each a signal, a task, a play run, a handoff and an event."""

    def __init__(self, api):
        self.api = api
        self.tokens = {}
        self.subjects = {"own": {}, "other": {}}
        self.accounts = {}
        self.cookies = {}

    def token(self, role: str) -> str:
        return self.tokens[role]

    async def call(self, role, method, path, **kwargs):
        return await self.api.http.request(method, path, headers={"Authorization": f"Bearer {self.token(role)}"}, **kwargs)


async def build_world(api) -> World:
    world = World(api)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    http = api.http

    async def user(role, manager=None):
        user_id = unique(f"mx-{role}")
        response = await http.post("/api/v1/users", json={"id": user_id, "name": user_id, "role": role,
                                                           "manager_id": manager}, headers=admin)
        assert response.status_code == 201, response.text
        return user_id, response.json()["token"]

    for role, user_id in ROLE_USERS.items():
        world.tokens[role] = ADMIN_TOKEN if role == "admin" else api.tokens.get(user_id)
    _, world.tokens["integration"] = await user("integration")
    other_lead, other_lead_token = await user("csm_lead")
    other_csm, other_csm_token = await user("csm", other_lead)
    other_ae, other_ae_token = await user("ae")
    teams = {"own": {"ae": "alex", "csm": "casey", "csm_lead": "lee", "sdr": "sam", "support": "sky"},
             "other": {"ae": other_ae, "csm": other_csm, "csm_lead": other_lead}}
    senders = {"own": ("alex", api.tokens["alex"], "lee"), "other": (other_ae, other_ae_token, other_csm)}
    leads = {"own": {"Authorization": f"Bearer {api.tokens['lee']}"},
             "other": {"Authorization": f"Bearer {other_lead_token}"}}
    for which, team in teams.items():
        account_id = world.accounts[which] = unique(f"mx-{which}")
        response = await http.put(f"/api/v1/accounts/{account_id}", json={
            "name": account_id, "arr": 100_000, "segment": "enterprise", "team": team}, headers=admin)
        assert response.status_code == 200, response.text
        subjects = world.subjects[which]
        subjects["account"] = account_id
        signal = await http.post("/api/v1/signals", json={"family": "renewal_risk", "severity": "critical",
                                                          "account_id": account_id}, headers=admin)
        subjects["signal"] = signal.json()["id"]
        ack = await http.post(f"/api/v1/signals/{subjects['signal']}/acknowledge", headers=leads[which])
        assert ack.status_code == 200, ack.text
        task = await http.post(f"/api/v1/signals/{subjects['signal']}/tasks",
                               json={"template_key": "renewal_save_play"}, headers=leads[which])
        assert task.status_code == 201, task.text
        subjects["task"], subjects["play_run"] = task.json()["id"], task.json()["play_run_id"]
        _, sender_token, receiver = senders[which]
        handoff = await http.post("/api/v1/handoffs", json={"kind": "ae_to_csm", "account_id": account_id,
                                                            "to_user_id": receiver, "fields": {}},
                                  headers={"Authorization": f"Bearer {sender_token}"})
        assert handoff.status_code == 201, handoff.text
        subjects["handoff"] = handoff.json()["id"]
        propose(account_id, senders[which][0])
        event = await http.post("/api/v1/events", json={"account_id": account_id, "kind": "nps_response", "score": 7,
                                                        "occurred_at": "2026-01-05T10:00:00Z"}, headers=admin)
        assert event.status_code == 201, event.text

    async def read_models_written():
        for which in world.subjects:
            for kind, path in (("signal", "signals"), ("play_run", "play-runs"), ("handoff", "handoffs")):
                found = (await http.get(f"/api/v1/{path}", params={"account_id": world.accounts[which]},
                                        headers=admin)).json()
                if world.subjects[which][kind] not in {row["id"] for row in found}:
                    return False
        return True

    await eventually(read_models_written)
    return world


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(api_stack):
    return await build_world(api_stack)


def propose(account_id: str, requested_by: str) -> None:
    """What an agent of the account team asked for (over MCP): a pending proposal on the account."""
    from sqlmodel import Session

    from core.db import get_engine
    from services.proposals import propose as record

    with Session(get_engine()) as session:
        record(session, tool="acknowledge_signal", operation="POST /api/v1/signals/{signal_id}/acknowledge",
               arguments={"signal_id": "sig-matrix"}, stated_reason="matrix", agent="matrix", requested_by=requested_by,
               account_id=account_id)


def visible(role: str, which: str) -> bool:
    return which == "own" or role in BOOK_WIDE


def fill(path: str, world: World, which: str) -> str:
    subjects = world.subjects[which]
    values = {"signal_id": subjects["signal"], "task_id": subjects["task"], "run_id": subjects["play_run"],
              "handoff_id": subjects["handoff"], "account_id": subjects["account"], "step_key": "diagnose",
              "user_id": "casey", "version": "1", "ritual_key": "signal_triage", "agenda_id": "agenda-nope",
              "item_id": "item-nope", "proposal_id": "proposal-nope", "workflow_id": "signal-nope", "key": "nope",
              "slug": "routing", "action": "approve", "chart": "sla_states"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


INCOMPLETE = {"matrix": "an incomplete body"}
# Bodies that stop an allowed call at validation where the incomplete one would be accepted and start work on the
# shared stack (agendas, a sweep of the book), and a route with no body at all whose allowed call is left out.
BODIES = {"POST /api/v1/rituals/{ritual_key}/trigger": {"motion": "matrix-no-such-motion"},
          "POST /api/v1/detection/run": {"as_of": "not a time"},
          "POST /api/v1/territory/rebalance": {"manager_id": "not an id!"},
          "POST /api/v1/play-runs/{run_id}/steps/{step_key}/nudge": {"note": "x" * 501},
          "POST /runs/{run_id}/steps/{step_key}/nudge": {"note": "x" * 501}}
# ... and routes whose allowed call would take a token away from the shared stack (rotate, revoke, disable)
REFUSALS_ONLY = {"POST /api/v1/flywheel/run", "POST /api/v1/users/{user_id}/token", "DELETE /api/v1/users/{user_id}/token",
                 "POST /api/v1/users/{user_id}/disable", "POST /api/v1/users/{user_id}/enable", "POST /api/v1/admin/token",
                 "POST /admin/users/{user_id}/token", "POST /admin/users/{user_id}/revoke",
                 "POST /admin/users/{user_id}/disable", "POST /admin/users/{user_id}/enable"}


async def page_client(world: World, role: str) -> httpx.AsyncClient:
    """One signed-in browser per role, kept for the module (signing in is the slow part of a page request)."""
    from api.main import app

    if role not in world.cookies:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pillar.test",
                                   headers={"Accept": "text/html"})
        response = await client.post("/sign-in", data={"token": world.token(role), "next": "/inbox"})
        assert response.status_code == 303, response.text
        client.csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/inbox")).text).group(1)
        world.cookies[role] = client
    return world.cookies[role]


async def request(world: World, role: str, route: str, which: str, body=INCOMPLETE) -> httpx.Response:
    method, path = route.split(" ", 1)
    url = fill(path, world, which)
    if path.startswith(PAGE_PREFIXES):
        kwargs = {"json": body} if method in {"POST", "PUT", "PATCH"} else {}
        return await world.call(role, method, url, **kwargs)
    client = await page_client(world, role)
    return await client.request(method, url, data={"csrf": client.csrf} if method == "POST" else None)


def expect_hidden(response: httpx.Response, api_route: bool) -> str | None:
    if response.status_code != 404:
        return f"expected 404 (hidden), got {response.status_code}: {response.text[:200]}"
    if api_route and response.json()["error"]["code"] != "not_found":
        return f"404 not in the error shape: {response.text[:200]}"
    return None


@pytest.mark.parametrize("route", sorted(ROUTES))
async def test_authorization_matrix(api, world, route):
    rule = ROUTES[route]
    method, path = route.split(" ", 1)
    api_route = path.startswith(PAGE_PREFIXES)
    failures = []
    for role in ROLE_USERS:
        for which in ("own", "other"):
            if rule[0] in {"public", "any", "roles"} and which == "other":
                continue  # not account-scoped: one call per role
            if rule[0] == "public" or (method == "POST" and path == "/sign-out"):
                continue  # nothing to authorize (sign-out ends the caller's own session)
            if route in REFUSALS_ONLY and rule[0] == "roles" and role in rule[1]:
                continue
            label = f"{role} on the {which} account"
            if rule[0] == "listing":
                problem = await check_listing(world, role, route, which, rule[1])
            elif rule[0] == "body_account":
                problem = await check_body_account(world, role, route, which, rule[1])
            else:
                response = await request(world, role, route, which, BODIES.get(route, INCOMPLETE))
                problem = None
                if response.status_code in (401, 500):
                    problem = f"got {response.status_code}: {response.text[:200]}"
                elif rule[0] == "any" and response.status_code == 403:
                    problem = f"refused: {response.text[:200]}"
                elif rule[0] == "roles":
                    allowed = role in rule[1]
                    if allowed == (response.status_code == 403):
                        problem = f"{'refused' if allowed else 'let through'} ({response.status_code}): {response.text[:200]}"
                elif rule[0] == "subject":
                    if not visible(role, which):
                        problem = expect_hidden(response, api_route)
                    elif response.status_code == 404:
                        problem = f"hidden from a caller who may see it: {response.text[:200]}"
                    then = rule[2]
                    if problem is None and then and visible(role, which) and (role in then[1]) == (response.status_code == 403):
                        problem = f"role rule after visibility broken ({response.status_code}): {response.text[:200]}"
            if problem:
                failures.append(f"{label}: {problem}")
    assert not failures, f"{route}:\n" + "\n".join(failures)


async def check_listing(world: World, role: str, route: str, which: str, key: str) -> str | None:
    method, path = route.split(" ", 1)
    account_id = world.accounts[which]
    if key == "board":
        text = (await (await page_client(world, role)).get(path, params={"play": "renewal_save"})).text
        shown = world.subjects[which]["play_run"] in text
    elif key == "page":
        shown = f"/accounts/{account_id}" in (await (await page_client(world, role)).get(path)).text
    else:
        params = {"account_id": account_id} if key == "account_id" else {"limit": 500}
        response = await world.call(role, method, path, params=params)
        if response.status_code != 200:
            return f"list answered {response.status_code}: {response.text[:200]}"
        wanted = world.subjects[which]["signal"] if key == "signal_id" else account_id
        shown = any(row.get(key) == wanted for row in response.json())
    if shown != visible(role, which):
        return f"{'shows' if shown else 'hides'} the {which} account's rows"
    return None


async def check_body_account(world: World, role: str, route: str, which: str, field: str) -> str | None:
    """A body naming the account, otherwise wrong (no such family, play or kind) so nothing starts either way."""
    method, path = route.split(" ", 1)
    account_id = world.accounts[which]
    body = {"account_id": account_id, "family": "matrix_family", "severity": "info", "play_key": "matrix_play",
            "kind": "matrix_kind", "to_user_id": "lee", "fields": {}}
    if field == "account_ids":
        body = {"account_ids": [account_id]}
    response = await world.call(role, method, path, json=body)
    unknown = response.status_code == 422 and "unknown account" in response.json()["error"]["message"]
    if unknown == visible(role, which):
        return f"{'refused as unknown' if unknown else 'accepted'} ({response.status_code}): {response.text[:200]}"
    return None
