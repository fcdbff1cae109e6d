"""Query tools: every read the API offers, through the services its routes call, as the caller may see it."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.agent.registry import Listed, Paged, Tool, ToolContext, listed, register
from api.routes.users import user_out
from core.db import in_session, in_session_threaded
from core.errors import PillarError
from models.agent import InboxView, SignalNeedingTask, StepWaiting
from models.account_calendars import AccountCalendarView
from models.assessment import Assessment
from models.channels import DeliveryOut
from models.common import Identifier, Instant, Role
from models.directory import AccountOut, UserOut
from models.events import EventKind, StoredEvent
from models.financials import Financials, NrrScenario, NrrScenarioIn
from models.flywheel import FlywheelProposal, ProposalStatus as FlywheelStatus
from models.handoffs import AuditEntry, Handoff, HandoffStatus
from models.inventory import InventoryIn, InventoryReport
from models.notifications import Notification
from models.ops import Execution, ExecutionStatus, ReplayResult
from models.plays import PlayDef, PlayRun, PlayRunSummary, RunStatus
from models.proposals import Proposal, ProposalStatus
from models.response import Dimension, ResponseMetrics
from models.ritual_rollout import RolloutView
from models.rotations import ROTATION_KEY_PATTERN, OnCallAt
from models.rituals import ActionItem, Agenda, AgendaSummary, CadenceMetrics, RitualsConfig, RitualsView
from models.scoring import AccountScore, ScorePoint
from models.signals import SignalDetail, SignalStatus, SignalSummary
from models.tables import Account, User
from models.tasks import Task
from models.territory import Allocation, TerritoryHealth, TerritoryProposal, TerritoryProposalStatus
from plays import load_library
from services import account_calendars, action_items, agendas, assessment, channels, directory, events, flywheel
from services import handoffs, inbox, inventory, ops, plays, proposals, response_metrics, rituals, rotations, scenarios
from services import ritual_rollout, signals, tasks, territory
from services.response_metrics import DEFAULT_WEEKS, MAX_WEEKS
import workflows
from services.accounts import financials_now
from services.config_views import CONFIGS, ConfigKind, config_view
from services.layer_config import current_definitions

Id = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str | None, Field(default=None, max_length=200)]
API = "/api/v1"


# --- the caller's own work --------------------------------------------------------------------------------------


class NoArgs(BaseModel):
    pass


async def my_inbox(ctx: ToolContext, _: NoArgs) -> InboxView:
    found = await in_session(ctx.session, inbox.inbox_for, ctx.principal.id)
    return InboxView(
        to_acknowledge=[w.signal for w in found.to_acknowledge],
        needs_task=[SignalNeedingTask(signal=w.signal, candidates=w.candidates) for w in found.needs_task],
        steps=[StepWaiting(run_id=w.run.id, play_key=w.run.play_key, account_id=w.run.account_id, step=w.step)
               for w in found.steps],
        tasks=found.tasks, counts=found.counts)


async def my_notifications(ctx: ToolContext, args: Paged) -> dict:
    return listed(await in_session(ctx.session, inbox.notifications_for, ctx.principal.id, args.page()))


# --- signals and tasks ------------------------------------------------------------------------------------------


class SignalFilter(Paged):
    status: SignalStatus | None = None
    owner_id: Text
    account_id: Text


async def list_signals(ctx: ToolContext, args: SignalFilter) -> dict:
    page = await in_session(ctx.session, signals.list_signals, args.status, args.owner_id, args.account_id,
                            args.page(), ctx.principal)
    return listed(page)


class SignalRef(BaseModel):
    signal_id: Id


async def get_signal(ctx: ToolContext, args: SignalRef) -> SignalDetail:
    return await signals.get_signal(ctx.session, await ctx.client(), args.signal_id)


class TaskFilter(Paged):
    owner_id: Text
    open: bool | None = None


async def signal_deliveries(ctx: ToolContext, args: SignalRef) -> list[DeliveryOut]:
    return await in_session(ctx.session, channels.deliveries_for_signal, args.signal_id)


async def list_tasks(ctx: ToolContext, args: TaskFilter) -> dict:
    return listed(await in_session(ctx.session, tasks.list_tasks, args.owner_id, args.open, args.page(), ctx.principal))


# --- plays --------------------------------------------------------------------------------------------------------


async def list_plays(ctx: ToolContext, _: NoArgs) -> list[PlayDef]:
    return list(load_library().values())


class RunFilter(Paged):
    status: RunStatus | None = None
    play_key: Text
    owner_id: Text
    account_id: Text
    motion: Text
    stuck: bool = Field(default=False, description="Only runs with an overdue or failed step, longest waiting first")


async def list_play_runs(ctx: ToolContext, args: RunFilter) -> dict:
    def board(session):
        return plays.list_play_runs(session, status=args.status, play_key=args.play_key, owner_id=args.owner_id,
                                    account_id=args.account_id, motion=args.motion, stuck=args.stuck,
                                    page=args.page(), viewer=ctx.principal)
    return listed(await in_session(ctx.session, board))


class RunRef(BaseModel):
    run_id: Id


async def get_play_run(ctx: ToolContext, args: RunRef) -> PlayRun:
    return await plays.get_play_run(ctx.session, await ctx.client(), args.run_id)


# --- handoffs -----------------------------------------------------------------------------------------------------


class HandoffFilter(Paged):
    status: HandoffStatus | None = None
    account_id: Text
    to_user_id: Text


async def list_handoffs(ctx: ToolContext, args: HandoffFilter) -> dict:
    page = await in_session(ctx.session, handoffs.list_handoffs, args.status, args.account_id, args.to_user_id,
                            args.page(), ctx.principal)
    return listed(page)


class HandoffRef(BaseModel):
    handoff_id: Id


async def get_handoff(ctx: ToolContext, args: HandoffRef) -> Handoff:
    return await handoffs.get_handoff(ctx.session, await ctx.client(), args.handoff_id)


async def get_handoff_audit(ctx: ToolContext, args: HandoffRef) -> list[AuditEntry]:
    return await handoffs.audit_trail(ctx.session, await ctx.client(), args.handoff_id)


# --- accounts: the book, why a score, money -----------------------------------------------------------------------


async def list_accounts(ctx: ToolContext, args: Paged) -> dict:
    page = await in_session(ctx.session, directory.list_accounts, args.page(), ctx.principal)
    return {"items": [AccountOut.model_validate(a, from_attributes=True) for a in page.items],
            "next_cursor": page.next_cursor}


class AccountRef(BaseModel):
    account_id: Id


def _account(session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("not_found", f"no account {account_id!r}")
    return account


async def get_account(ctx: ToolContext, args: AccountRef) -> AccountOut:
    return AccountOut.model_validate(await in_session(ctx.session, _account, args.account_id), from_attributes=True)


async def get_account_score(ctx: ToolContext, args: AccountRef) -> AccountScore:
    def score(session):
        _account(session, args.account_id)
        found = events.latest_score(session, args.account_id)
        if found is None:
            raise PillarError("not_found", f"account {args.account_id!r} has no score yet: it has no events")
        return found
    return await in_session(ctx.session, score)


class ScoreHistoryArgs(AccountRef):
    limit: int = Field(default=500, ge=1, le=5000)


async def get_score_history(ctx: ToolContext, args: ScoreHistoryArgs) -> list[ScorePoint]:
    def history(session):
        _account(session, args.account_id)
        return events.score_history(session, args.account_id, args.limit)
    return await in_session(ctx.session, history)


class CalendarArgs(AccountRef):
    at: Instant | None = Field(default=None, description="The moment to read (default: now)")


async def get_account_calendar(ctx: ToolContext, args: CalendarArgs) -> AccountCalendarView:
    def view(session):
        return account_calendars.account_calendar(session, args.account_id, args.at, current_definitions(session))
    return await in_session(ctx.session, view)


class EventFilter(Paged, AccountRef):
    kind: EventKind | None = None


async def list_events(ctx: ToolContext, args: EventFilter) -> dict:
    page = await in_session(ctx.session, events.list_events, args.account_id, args.kind.value if args.kind else None,
                            args.page(), ctx.principal)
    return listed(page)


async def get_financials(ctx: ToolContext, args: AccountRef) -> Financials:
    return await in_session(ctx.session, lambda s: financials_now(s, _account(s, args.account_id)))


async def nrr_scenario(ctx: ToolContext, args: NrrScenarioIn) -> NrrScenario:
    return await in_session(ctx.session, scenarios.nrr_for, args, ctx.principal)


async def get_assessment(ctx: ToolContext, _: NoArgs) -> Assessment:
    return await in_session(ctx.session, assessment.assess)


class ResponseMetricsArgs(BaseModel):
    by: list[Dimension] = Field(default=[], max_length=len(Dimension), description="Group by these dimensions")
    weeks: int = Field(default=DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)


async def get_response_metrics(ctx: ToolContext, args: ResponseMetricsArgs) -> ResponseMetrics:
    by = response_metrics.parse_by(",".join(d.value for d in args.by))
    return await in_session_threaded(ctx.session, response_metrics.response_metrics, by, args.weeks, ctx.principal)


# --- cadences ---------------------------------------------------------------------------------------------------


async def list_rituals(ctx: ToolContext, _: NoArgs) -> RitualsView:
    return await in_session(ctx.session, lambda s: rituals.rituals_view(s, redact=not _editor(ctx)))


def _editor(ctx: ToolContext) -> bool:
    return ctx.principal.role in (Role.admin, Role.revops)


class AgendaFilter(Paged):
    ritual_key: Text
    motion: Text


async def list_agendas(ctx: ToolContext, args: AgendaFilter) -> dict:
    return listed(await in_session(ctx.session, agendas.list_agendas, args.ritual_key, args.motion, args.page()))


class AgendaRef(BaseModel):
    agenda_id: Id


async def get_agenda(ctx: ToolContext, args: AgendaRef) -> Agenda:
    return await in_session(ctx.session, agendas.get_agenda, args.agenda_id)


class LatestAgendaArgs(BaseModel):
    ritual_key: Id
    motion: Text


async def get_latest_agenda(ctx: ToolContext, args: LatestAgendaArgs) -> Agenda:
    return await in_session(ctx.session, agendas.latest_agenda, args.ritual_key, args.motion)


class ActionItemFilter(Paged):
    owner_id: Text
    open: bool | None = None
    ritual_key: Text
    agenda_id: Text
    motion: Text


async def list_action_items(ctx: ToolContext, args: ActionItemFilter) -> dict:
    page = await in_session(ctx.session, action_items.list_action_items, args.owner_id, args.open, args.ritual_key,
                            args.agenda_id, args.motion, args.page())
    return listed(page)


class ActionItemRef(BaseModel):
    item_id: Id


async def get_action_item(ctx: ToolContext, args: ActionItemRef) -> ActionItem:
    return await in_session(ctx.session, action_items.get_action_item, args.item_id)


class MetricsArgs(BaseModel):
    weeks: int = Field(default=8, ge=1, le=104)


async def completion_rates(ctx: ToolContext, args: MetricsArgs) -> CadenceMetrics:
    return await in_session(ctx.session, lambda s: action_items.completion_metrics(s, weeks=args.weeks))


async def ritual_rollout_view(ctx: ToolContext, _: NoArgs) -> RolloutView:
    return await in_session(ctx.session, ritual_rollout.rollout_view)


# --- config by version, the flywheel's proposals ------------------------------------------------------------------


class ConfigRef(BaseModel):
    kind: ConfigKind
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Leave out for the version in force")


async def get_config(ctx: ToolContext, args: ConfigRef) -> dict:
    found = await in_session(ctx.session, config_view, args.kind, args.version)
    return {"kind": args.kind.value, "config": found.model_dump(mode="json")}


class OnCallRef(BaseModel):
    rotation: str = Field(pattern=rf"^{ROTATION_KEY_PATTERN}$", description="The rotation's key")
    at: Instant | None = Field(default=None, description="A moment with its time zone; now if left out")


async def who_is_on_call(ctx: ToolContext, args: OnCallRef) -> OnCallAt:
    return await in_session(ctx.session, rotations.on_call, args.rotation, args.at or datetime.now(UTC))


class ConfigOut(BaseModel):
    kind: ConfigKind
    config: dict


class RitualsConfigRef(BaseModel):
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


async def get_rituals_config(ctx: ToolContext, args: RitualsConfigRef) -> RitualsConfig:
    def read(session):
        config = rituals.current_rituals(session) if args.version is None else rituals.rituals_version(session, args.version)
        return config if _editor(ctx) else rituals.redact_webhooks(config)
    return await in_session(ctx.session, read)


class FlywheelFilter(Paged):
    status: FlywheelStatus | None = None
    config_version: int | None = Field(default=None, ge=1, le=2**31 - 1)


async def list_flywheel_proposals(ctx: ToolContext, args: FlywheelFilter) -> dict:
    return listed(await in_session(ctx.session, flywheel.list_proposals, args.status, args.config_version, args.page()))


class FlywheelRef(BaseModel):
    proposal_id: Id


async def get_flywheel_proposal(ctx: ToolContext, args: FlywheelRef) -> FlywheelProposal:
    return await in_session(ctx.session, flywheel.get_proposal, args.proposal_id)


# --- territory decisions -----------------------------------------------------------------------------------------

async def read_inventory(ctx: ToolContext, args: InventoryIn) -> InventoryReport:
    return await in_session_threaded(ctx.session, inventory.analyze, args.csv)


PLANNERS = (Role.manager, Role.vp, Role.cro, Role.revops)  # api/routes/territory.py: Planner
DECIDERS = (Role.vp, Role.cro, Role.revops)  # api/routes/territory.py: Decider


class TerritoryScope(BaseModel):
    manager_id: Identifier | None = Field(default=None, description="Only the owners reporting to this manager")


async def get_territory(ctx: ToolContext, args: TerritoryScope) -> TerritoryHealth:
    return await in_session(ctx.session, territory.territory_health, ctx.principal, args.manager_id)


async def list_territory_allocations(ctx: ToolContext, _: NoArgs) -> list[Allocation]:
    return await in_session(ctx.session, territory.allocations, ctx.principal)


class TerritoryProposalFilter(Paged):
    status: TerritoryProposalStatus | None = None


async def list_territory_proposals(ctx: ToolContext, args: TerritoryProposalFilter) -> dict:
    return listed(await in_session(ctx.session, territory.list_proposals, args.status, args.page()))


class TerritoryProposalRef(BaseModel):
    proposal_id: Id


async def get_territory_proposal(ctx: ToolContext, args: TerritoryProposalRef) -> TerritoryProposal:
    return await in_session(ctx.session, territory.get_proposal, args.proposal_id)


# --- directory, ops, the agent's own proposals --------------------------------------------------------------------


async def list_users(ctx: ToolContext, args: Paged) -> dict:
    page = await in_session(ctx.session, directory.list_users, args.page())
    return {"items": [user_out(u, ctx.principal) for u in page.items], "next_cursor": page.next_cursor}


class UserRef(BaseModel):
    user_id: Id


async def get_user(ctx: ToolContext, args: UserRef) -> UserOut:
    user = await in_session(ctx.session, lambda s: s.get(User, args.user_id))
    if user is None:
        raise PillarError("not_found", f"no user {args.user_id!r}")
    return user_out(user, ctx.principal)


class ExecutionFilter(Paged):
    status: ExecutionStatus | None = None
    workflow_type: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_]+$")
    account_id: Text
    failed_steps: bool = False


async def list_executions(ctx: ToolContext, args: ExecutionFilter) -> dict:
    query = ops.visibility_query(args.status, args.workflow_type, args.account_id, None, None, args.failed_steps)
    return listed(await ops.list_executions(await ctx.client(), query, args.page(), ctx.session))


class ReplayArgs(BaseModel):
    workflow_id: Id
    run_id: str | None = Field(default=None, pattern=r"^[0-9a-fA-F-]{36}$", description="Default: the latest run")


async def replay_execution(ctx: ToolContext, args: ReplayArgs) -> ReplayResult:
    """Changes nothing: the recorded history replayed against the code this server runs."""
    history = await ops.fetch_history(await ctx.client(), args.workflow_id, args.run_id)
    return await ops.replay(history, workflows.WORKFLOWS, args.run_id)


class ProposalFilter(Paged):
    status: ProposalStatus | None = None
    account_id: Text
    requested_by: Text


async def list_proposals(ctx: ToolContext, args: ProposalFilter) -> dict:
    page = await in_session(ctx.session, proposals.list_proposals, ctx.principal, args.status, args.account_id,
                            args.requested_by, args.page())
    return listed(page)


class ProposalRef(BaseModel):
    proposal_id: Id


async def get_proposal(ctx: ToolContext, args: ProposalRef) -> Proposal:
    return await in_session(ctx.session, proposals.get_proposal, ctx.principal, args.proposal_id)


def _config_operations() -> tuple[str, ...]:
    paths = [path for _, path, _, _, _ in CONFIGS.values()]
    return tuple(f"GET {API}/config/{p}" for p in paths) + tuple(f"GET {API}/config/{p}/{{version}}" for p in paths)


OPS = (Role.ops,)
register(
    Tool("my_inbox", "What waits on you now: signals to acknowledge, acknowledged signals needing a task (with the "
         "task candidates), play steps you own and your open tasks, most urgent first.", NoArgs, InboxView, my_inbox),
    Tool("my_notifications", "Your pages, escalations, overdue notices and handoff requests, newest first.", Paged,
         Listed[Notification], my_notifications, (f"GET {API}/me/notifications",)),
    Tool("list_signals", "Signals on the accounts you may see, newest first; filter by status, owner, account.",
         SignalFilter, Listed[SignalSummary], list_signals, (f"GET {API}/signals",)),
    Tool("get_signal", "A signal with its owners, SLA, escalation level, tasks and full timeline.", SignalRef,
         SignalDetail, get_signal, (f"GET {API}/signals/{{signal_id}}",), sees=("signal", "signal_id")),
    Tool("get_signal_deliveries", "Whether a signal's pages reached their people: per person and channel, status, "
         "attempts, last error, delivered at, held by quiet hours until.", SignalRef, list[DeliveryOut],
         signal_deliveries, (f"GET {API}/signals/{{signal_id}}/deliveries",), sees=("signal", "signal_id")),
    Tool("list_tasks", "Tasks, soonest due first; `open` keeps those without a final outcome.", TaskFilter,
         Listed[Task], list_tasks, (f"GET {API}/tasks",)),
    Tool("list_plays", "The play library: entry families, exit outcomes, steps with owners, dependencies, due "
         "durations and required fields.", NoArgs, list[PlayDef], list_plays, (f"GET {API}/plays",)),
    Tool("list_play_runs", "The board: each play run's open steps and where it is stuck (step, owner, since when, "
         "seconds overdue); `stuck` keeps the overdue or failed ones.", RunFilter, Listed[PlayRunSummary],
         list_play_runs, (f"GET {API}/play-runs",)),
    Tool("get_play_run", "A play run: every step's status, owner, due date and fields, and what it is stuck on.",
         RunRef, PlayRun, get_play_run, (f"GET {API}/play-runs/{{run_id}}",), sees=("play_run", "run_id")),
    Tool("list_handoffs", "Handoffs on the accounts you may see, newest first.", HandoffFilter, Listed[Handoff],
         list_handoffs, (f"GET {API}/handoffs",)),
    Tool("get_handoff", "A handoff with its transferred context and missing fields.", HandoffRef, Handoff,
         get_handoff, (f"GET {API}/handoffs/{{handoff_id}}",), sees=("handoff", "handoff_id")),
    Tool("get_handoff_audit", "Every transition of a handoff, oldest first.", HandoffRef, list[AuditEntry],
         get_handoff_audit, (f"GET {API}/handoffs/{{handoff_id}}/audit",), sees=("handoff", "handoff_id")),
    Tool("list_accounts", "The accounts you may see, by id.", Paged, Listed[AccountOut], list_accounts,
         (f"GET {API}/accounts",)),
    Tool("get_account", "An account: ARR, motion, segment, renewal date and team.", AccountRef, AccountOut,
         get_account, (f"GET {API}/accounts/{{account_id}}",), sees=("account", "account_id")),
    Tool("get_account_score", "Why this score: health, renewal risk and tier, forecast confidence, pipeline quality, "
         "each component with value, weight, contribution and the evidence event ids (see list_events).",
         AccountRef, AccountScore, get_account_score, (f"GET {API}/accounts/{{account_id}}/score",),
         sees=("account", "account_id")),
    Tool("get_score_history", "Every rescoring of an account, oldest first.", ScoreHistoryArgs, list[ScorePoint],
         get_score_history, (f"GET {API}/accounts/{{account_id}}/score/history",), sees=("account", "account_id")),
    Tool("get_account_calendar", "Vertical state calendar: the phase the account is in (mid-term, exams, summer break, "
         "a pre-assessment or budget window …), when each phase comes next (the next budget, term or accreditation "
         "window), and which signal thresholds apply today (and which families are quiet).", CalendarArgs,
         AccountCalendarView, get_account_calendar, (f"GET {API}/accounts/{{account_id}}/calendar",),
         sees=("account", "account_id")),
    Tool("list_events", "An account's raw events (usage, NPS, tickets, CRM), newest first: the evidence behind a "
         "score.", EventFilter, Listed[StoredEvent], list_events, (f"GET {API}/events",),
         sees=("account", "account_id")),
    Tool("get_financials", "ARR at risk, cost to save vs cost to replace, NRR impact of losing the account.",
         AccountRef, Financials, get_financials, (f"GET {API}/accounts/{{account_id}}/financials",),
         sees=("account", "account_id")),
    Tool("nrr_scenario", "NRR of the book if the given accounts are lost (and expansion_arr is won).",
         NrrScenarioIn, NrrScenario, nrr_scenario, (f"POST {API}/scenarios/nrr",)),
    Tool("get_response_metrics", "Response analytics: time to acknowledge, first task and resolution (median, p90), "
         "SLA compliance and escalation rate, by family, severity, team, owner or week.", ResponseMetricsArgs,
         ResponseMetrics, get_response_metrics, (f"GET {API}/metrics/response",)),
    Tool("get_assessment", "The self-assessment: fifteen questions answered yes or no from Pillar's data.", NoArgs,
         Assessment, get_assessment, (f"GET {API}/assessment",)),
    Tool("list_rituals", "The weekly rituals in force, their next meetings and latest agendas.", NoArgs, RitualsView,
         list_rituals, (f"GET {API}/rituals",)),
    Tool("list_agendas", "Ritual agendas, newest meeting first.", AgendaFilter, Listed[AgendaSummary], list_agendas,
         (f"GET {API}/agendas", f"GET {API}/rituals/{{ritual_key}}/agendas")),
    Tool("get_agenda", "An agenda as built: ranked items with their scores in words, and its action items.",
         AgendaRef, Agenda, get_agenda, (f"GET {API}/agendas/{{agenda_id}}",)),
    Tool("get_latest_agenda", "The agenda of a ritual's latest meeting.", LatestAgendaArgs, Agenda,
         get_latest_agenda, (f"GET {API}/rituals/{{ritual_key}}/agendas/latest",)),
    Tool("list_action_items", "Action items, soonest due first.", ActionItemFilter, Listed[ActionItem],
         list_action_items, (f"GET {API}/action-items",)),
    Tool("get_action_item", "One action item.", ActionItemRef, ActionItem, get_action_item,
         (f"GET {API}/action-items/{{item_id}}",)),
    Tool("completion_rates", "Each ritual's action-item completion rate by week, with the counts behind it.",
         MetricsArgs, CadenceMetrics, completion_rates, (f"GET {API}/cadences/metrics",)),
    Tool("get_ritual_rollout", "The rituals' rollout: since when each is enabled, its weekly completion rate against "
         "the 75% target, whether it sticks, and which ritual to switch on next.", NoArgs, RolloutView,
         ritual_rollout_view, (f"GET {API}/cadences/rollout",)),
    Tool("get_config", "Versioned config: the version in force or an older one (routing, task templates, handoff "
         "specs, signal definitions, score weights, cost model, territory settings, account calendars, rotations).",
         ConfigRef, ConfigOut, get_config,
         _config_operations()),
    Tool("get_rituals_config", "The rituals config in force or an older version.", RitualsConfigRef, RitualsConfig,
         get_rituals_config, (f"GET {API}/config/rituals", f"GET {API}/config/rituals/{{version}}")),
    Tool("who_is_on_call", "Who is on call for a rotation at a moment (now by default), whose turn it is and why "
         "(an override such as leave).", OnCallRef, OnCallAt, who_is_on_call, (f"GET {API}/rotations/{{key}}/on-call",)),
    Tool("list_flywheel_proposals", "The flywheel's threshold proposals with their evidence, newest first.",
         FlywheelFilter, Listed[FlywheelProposal], list_flywheel_proposals, (f"GET {API}/flywheel/proposals",)),
    Tool("get_flywheel_proposal", "One flywheel proposal.", FlywheelRef, FlywheelProposal, get_flywheel_proposal,
         (f"GET {API}/flywheel/proposals/{{proposal_id}}",)),
    Tool("get_territory", "Each owner's book now: accounts, ARR, ARR at risk, critical accounts, health, running "
         "plays, load against capacity, coverage, and whether risk concentrates on one owner (as far as you may see).",
         TerritoryScope, TerritoryHealth, get_territory, (f"GET {API}/territory",)),
    Tool("list_territory_allocations", "For each critical account you may see, biggest first: the SE and the "
         "executive sponsor for the save, and why.", NoArgs, list[Allocation], list_territory_allocations,
         (f"GET {API}/territory/allocations",)),
    Tool("list_territory_proposals", "Territory rebalance proposals with their moves, why, and the expected effect on "
         "each owner's load, newest first (manager, vp, cro, revops).", TerritoryProposalFilter,
         Listed[TerritoryProposal], list_territory_proposals, (f"GET {API}/territory/proposals",), roles=PLANNERS),
    Tool("get_territory_proposal", "One territory rebalance proposal (manager, vp, cro, revops).",
         TerritoryProposalRef, TerritoryProposal, get_territory_proposal,
         (f"GET {API}/territory/proposals/{{proposal_id}}",), roles=PLANNERS),
    Tool("read_inventory", "Read a CSV of the signals, owners and tasks a team tracks today (revops): how many have "
         "no defined owner, and what routing would do with each signal row. Stores nothing.", InventoryIn,
         InventoryReport, read_inventory, (f"POST {API}/inventory/import",), roles=(Role.revops,)),
    Tool("list_users", "The directory, by id.", Paged, Listed[UserOut], list_users, (f"GET {API}/users",)),
    Tool("get_user", "One user: role and manager.", UserRef, UserOut, get_user, (f"GET {API}/users/{{user_id}}",)),
    Tool("list_executions", "Workflow executions (ops): failed ones say why and where.", ExecutionFilter,
         Listed[Execution], list_executions, (f"GET {API}/ops/executions",), roles=OPS),
    Tool("replay_execution", "Replay an execution's history against the running code: is it deterministic? (ops; "
         "changes nothing)", ReplayArgs, ReplayResult, replay_execution,
         (f"POST {API}/ops/executions/{{workflow_id}}/replay",), roles=OPS),
    Tool("list_proposals", "Acts agents proposed, on the accounts you may see, newest first.", ProposalFilter,
         Listed[Proposal], list_proposals, (f"GET {API}/proposals",)),
    Tool("get_proposal", "One proposal: its arguments, stated reason and decision.", ProposalRef, Proposal,
         get_proposal, (f"GET {API}/proposals/{{proposal_id}}",)),
)
