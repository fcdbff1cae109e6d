"""Act tools: each is the API operation of the same name, through the same service call, update and validator. An
agent calling one gets a pending proposal (api/agent/calls.py); the act runs when a person approves it."""

from typing import Annotated

from pydantic import BaseModel, Field

from api.agent.reads import API, DECIDERS, PLANNERS, Id
from api.agent.registry import Act, Listed, Paged, Tool, ToolContext, listed, register
from api.visibility import check_signal_in_body
from core.db import in_session
from models.common import Identifier, Role
from models.directory import AccountIn, AccountOut
from models.flywheel import DecisionIn, FlywheelProposal, FlywheelRunStarted, ReasonIn
from models.handoffs import FieldsPatch, Handoff, HandoffAction, HandoffIn, ReasonBody
from models.ops import ExecutionStatus, ReconcileResult, ResetRequest, ResetResult
from models.plays import (
    ExitInput, ExitRequest, PlayRun, PlayRunCreated, PlayRunIn, StepCompleteInput, StepCompleteRequest, StepNudgeInput,
    StepNudgeRequest, StepRetryRequest,
)
from models.rituals import ActionItem, ActionItemIn, DecisionIn, ItemDecision, RitualsConfigIn, RitualsConfigWritten, TriggeredRun, TriggerIn
from models.routing import ConfigVersionRef
from models.signals import AcknowledgeResult, ReassignRequest, SignalCreated, SignalDetail, SignalIn
from models.tasks import OutcomeIn, Task, TaskIn
from models.territory import RebalanceIn, TerritoryDecisionIn, TerritoryProposal, TerritoryRejectIn
from services import action_items, decisions, directory, flywheel, handoffs, ops, plays, reconcile, rituals, signals, tasks
from services import territory
from services.config_views import CONFIGS, ConfigKind, write_config
from services.visibility import SUBJECTS, check_account_in_body
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow

StepKey = Annotated[str, Field(min_length=1, max_length=200)]
EDITORS = (Role.revops,)
RITUAL_RUNNERS = (Role.manager, Role.vp, Role.csm_lead, Role.revops)


def account_of(kind: str, argument: str):
    """The account of the signal/run/handoff/task an act names, from its read model (for the proposal's visibility)."""

    async def find(ctx: ToolContext, args) -> str | None:
        row = await in_session(ctx.session, lambda s: s.get(SUBJECTS[kind][0], getattr(args, argument)))
        return getattr(row, "account_id", None) if row is not None else None

    return find


async def account_in_body(ctx: ToolContext, args) -> str | None:
    return args.account_id


# --- seam 01, 02: signals and tasks ---------------------------------------------------------------------------------


class SignalAct(Act):
    signal_id: Id


async def acknowledge_signal(ctx: ToolContext, args: SignalAct) -> AcknowledgeResult:
    return await signals.acknowledge(ctx.session, await ctx.client(), args.signal_id, await ctx.actor())


class ReassignAct(ReassignRequest, SignalAct):
    pass


async def reassign_signal(ctx: ToolContext, args: ReassignAct) -> SignalDetail:
    body = ReassignRequest(to_user_id=args.to_user_id, reason=ctx.noted(args.reason))
    return await signals.reassign(ctx.session, await ctx.client(), args.signal_id, body, await ctx.actor())


class TaskAct(TaskIn, SignalAct):
    pass


async def create_task(ctx: ToolContext, args: TaskAct) -> Task:
    body = TaskIn.model_validate(args.model_dump(include=set(TaskIn.model_fields)))
    return await tasks.add_task(ctx.session, await ctx.client(), args.signal_id, body, await ctx.actor())


class OutcomeAct(OutcomeIn, Act):
    task_id: Id


async def set_task_outcome(ctx: ToolContext, args: OutcomeAct) -> Task:
    body = OutcomeIn.model_validate(args.model_dump(include=set(OutcomeIn.model_fields)))
    return await tasks.set_outcome(ctx.session, await ctx.client(), args.task_id, body, await ctx.actor())


class SignalOpenAct(SignalIn, Act):
    pass


async def create_signal(ctx: ToolContext, args: SignalOpenAct) -> SignalCreated:
    await in_session(ctx.session, check_account_in_body, ctx.principal, args.account_id)
    body = SignalIn.model_validate(args.model_dump(include=set(SignalIn.model_fields)))
    created, _ = await signals.open_signal(ctx.session, await ctx.client(), body, created_by=ctx.principal.id,
                                           cache=ctx.cache, key_namespace=signals.CALLER_KEYS)
    return created


# --- seam 03: plays -------------------------------------------------------------------------------------------------


class PlayStartAct(PlayRunIn, Act):
    pass


async def start_play_run(ctx: ToolContext, args: PlayStartAct) -> PlayRunCreated:
    await in_session(ctx.session, check_account_in_body, ctx.principal, args.account_id)
    if args.signal_id:
        await check_signal_in_body(ctx.session, ctx.principal, args.signal_id)
    body = PlayRunIn.model_validate(args.model_dump(include=set(PlayRunIn.model_fields)))
    return await plays.start_play_run(ctx.session, await ctx.client(), body, started_by=ctx.principal.id)


class StepAct(StepCompleteRequest, Act):
    run_id: Id
    step_key: StepKey


async def complete_step(ctx: ToolContext, args: StepAct) -> PlayRun:
    request = StepCompleteInput(step_key=args.step_key, actor=await ctx.actor(), fields=args.fields)
    return await plays.update_run(ctx.session, await ctx.client(), args.run_id, PlayWorkflow.complete_step, request)


class ExitAct(ExitRequest, Act):
    run_id: Id


async def exit_play_run(ctx: ToolContext, args: ExitAct) -> PlayRun:
    request = ExitInput(actor=await ctx.actor(), outcome=args.outcome, note=args.note)
    return await plays.update_run(ctx.session, await ctx.client(), args.run_id, PlayWorkflow.exit, request)


class RetryAct(StepRetryRequest, Act):
    run_id: Id
    step_key: StepKey


async def retry_step(ctx: ToolContext, args: RetryAct) -> PlayRun:
    return await plays.retry_step(ctx.session, await ctx.client(), args.run_id, args.step_key, await ctx.actor(),
                                  StepRetryRequest(reason=ctx.noted(args.reason)))


class NudgeAct(StepNudgeRequest, Act):
    run_id: Id
    step_key: StepKey


async def nudge_step(ctx: ToolContext, args: NudgeAct) -> PlayRun:
    request = StepNudgeInput(step_key=args.step_key, actor=await ctx.actor(), actor_name=ctx.principal.name,
                             note=ctx.noted(args.note, limit=500))
    return await plays.update_run(ctx.session, await ctx.client(), args.run_id, PlayWorkflow.nudge_step, request)


# --- seam 04: handoffs ----------------------------------------------------------------------------------------------


class HandoffOpenAct(HandoffIn, Act):
    pass


async def create_handoff(ctx: ToolContext, args: HandoffOpenAct) -> Handoff:
    await in_session(ctx.session, check_account_in_body, ctx.principal, args.account_id)
    body = HandoffIn.model_validate(args.model_dump(include=set(HandoffIn.model_fields)))
    return await handoffs.start_handoff(ctx.session, await ctx.client(), body, ctx.principal.id, ctx.principal.role)


class HandoffAct(Act):
    handoff_id: Id


class HandoffPatchAct(FieldsPatch, HandoffAct):
    pass


class HandoffReasonAct(ReasonBody, HandoffAct):
    pass


def handoff_update(update, with_fields: bool = False, with_reason: bool = False):
    async def run(ctx: ToolContext, args) -> Handoff:
        action = HandoffAction(actor=await ctx.actor(), fields=args.fields if with_fields else {},
                               reason=ctx.noted(args.reason) if with_reason else None)
        return await handoffs.act_on(ctx.session, await ctx.client(), args.handoff_id, update, action)

    return run


# --- cadences -------------------------------------------------------------------------------------------------------


class ActionItemAct(ActionItemIn, Act):
    agenda_id: Id


async def create_action_item(ctx: ToolContext, args: ActionItemAct) -> ActionItem:
    body = ActionItemIn.model_validate(args.model_dump(include=set(ActionItemIn.model_fields)))
    return await action_items.add_action_item(ctx.session, await ctx.client(), args.agenda_id, body, await ctx.actor())


class DecisionAct(DecisionIn, Act):
    agenda_id: Id


async def record_decision(ctx: ToolContext, args: DecisionAct) -> ItemDecision:
    body = DecisionIn.model_validate(args.model_dump(include=set(DecisionIn.model_fields)))
    return await decisions.record_decision(ctx.session, await ctx.client(), args.agenda_id, body, await ctx.actor())


class ItemOutcomeAct(OutcomeIn, Act):
    item_id: Id


async def set_action_item_outcome(ctx: ToolContext, args: ItemOutcomeAct) -> ActionItem:
    body = OutcomeIn.model_validate(args.model_dump(include=set(OutcomeIn.model_fields)))
    return await action_items.set_outcome(ctx.session, await ctx.client(), args.item_id, body, await ctx.actor())


class TriggerAct(TriggerIn, Act):
    ritual_key: Id


async def trigger_ritual(ctx: ToolContext, args: TriggerAct) -> list[TriggeredRun]:
    return await rituals.trigger(ctx.session, await ctx.client(), args.ritual_key, args.motion)


class RitualsConfigAct(RitualsConfigIn, Act):
    pass


async def put_rituals_config(ctx: ToolContext, args: RitualsConfigAct) -> RitualsConfigWritten:
    body = RitualsConfigIn.model_validate(args.model_dump(include=set(RitualsConfigIn.model_fields)))
    return await rituals.write_rituals_config(ctx.session, await ctx.client(), body, ctx.principal.id)


# --- config, the flywheel, ops --------------------------------------------------------------------------------------


def config_act(kind: ConfigKind) -> Tool:
    _, path, model_in, _, what = CONFIGS[kind]
    args_model = type(f"Put{kind.value.title().replace('_', '')}Act", (model_in, Act), {"__module__": __name__})

    async def run(ctx: ToolContext, args) -> ConfigVersionRef:
        body = model_in.model_validate(args.model_dump(include=set(model_in.model_fields)))
        return await in_session(ctx.session, write_config, kind, body, ctx.principal.id)

    return Tool(f"put_{kind.value}", f"Write a new {what} version (revops); what runs keeps its version.",
                args_model, ConfigVersionRef, run, (f"PUT {API}/config/{path}",), roles=EDITORS, act=True)


class AccountAct(AccountIn, Act):
    account_id: Identifier


async def put_account(ctx: ToolContext, args: AccountAct) -> AccountOut:
    body = AccountIn.model_validate(args.model_dump(include=set(AccountIn.model_fields)))
    return await in_session(ctx.session, directory.put_account, args.account_id, body)


class FlywheelAct(Act):
    proposal_id: Id


class FlywheelApproveAct(DecisionIn, FlywheelAct):
    pass


class FlywheelReasonAct(ReasonIn, FlywheelAct):
    pass


async def approve_flywheel_proposal(ctx: ToolContext, args: FlywheelApproveAct) -> FlywheelProposal:
    return await in_session(ctx.session, flywheel.approve, args.proposal_id, ctx.principal.id, ctx.noted(args.note))


async def reject_flywheel_proposal(ctx: ToolContext, args: FlywheelReasonAct) -> FlywheelProposal:
    return await in_session(ctx.session, flywheel.reject, args.proposal_id, ctx.principal.id, ctx.noted(args.reason))


async def revert_flywheel_proposal(ctx: ToolContext, args: FlywheelReasonAct) -> FlywheelProposal:
    return await in_session(ctx.session, flywheel.revert, args.proposal_id, ctx.principal.id, ctx.noted(args.reason))


async def run_flywheel(ctx: ToolContext, _: Act) -> FlywheelRunStarted:
    return await flywheel.run_now(await ctx.client())


class ResetAct(ResetRequest, Act):
    workflow_id: Id


async def reset_execution(ctx: ToolContext, args: ResetAct) -> ResetResult:
    return await ops.reset_audited(ctx.session, await ctx.client(), args.workflow_id, ctx.noted(args.reason), ctx.principal.id,
                                   args.event_id)


class ReconcileAct(Act):
    workflow_id: Id


async def reconcile_execution(ctx: ToolContext, args: ReconcileAct) -> ReconcileResult:
    return await reconcile.reconcile(ctx.session, await ctx.client(), args.workflow_id)


class ReconcilePageAct(Paged, Act):
    status: ExecutionStatus | None = ExecutionStatus.running
    workflow_type: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_]+$")


async def reconcile_executions(ctx: ToolContext, args: ReconcilePageAct) -> dict:
    query = reconcile.read_model_query(args.status, args.workflow_type)
    return listed(await reconcile.reconcile_page(ctx.session, await ctx.client(), query, args.page()))


# --- territory decisions --------------------------------------------------------------------------------------------


class RebalanceAct(RebalanceIn, Act):
    pass


async def rebalance_territory(ctx: ToolContext, args: RebalanceAct) -> TerritoryProposal:
    return await in_session(ctx.session, territory.propose, ctx.principal.id, args.manager_id)


class TerritoryAct(Act):
    proposal_id: Id


class TerritoryApproveAct(TerritoryDecisionIn, TerritoryAct):
    pass


class TerritoryRejectAct(TerritoryRejectIn, TerritoryAct):
    pass


async def approve_territory_proposal(ctx: ToolContext, args: TerritoryApproveAct) -> TerritoryProposal:
    return await in_session(ctx.session, territory.approve, args.proposal_id, ctx.principal.id, ctx.noted(args.note))


async def reject_territory_proposal(ctx: ToolContext, args: TerritoryRejectAct) -> TerritoryProposal:
    return await in_session(ctx.session, territory.reject, args.proposal_id, ctx.principal.id, ctx.noted(args.reason))


OPS = (Role.ops,)
SIGNAL, RUN, HANDOFF, TASK = ("signal", "signal_id"), ("play_run", "run_id"), ("handoff", "handoff_id"), ("task", "task_id")
H = f"{API}/handoffs/{{handoff_id}}"
register(
    Tool("acknowledge_signal", "Acknowledge a signal you own (or that escalated to you); answers with the task "
         "candidates.", SignalAct, AcknowledgeResult, acknowledge_signal,
         (f"POST {API}/signals/{{signal_id}}/acknowledge",), sees=SIGNAL, act=True, account_of=account_of(*SIGNAL)),
    Tool("reassign_signal", "Hand a signal to someone else (an owner or their manager); the SLA restarts.",
         ReassignAct, SignalDetail, reassign_signal, (f"POST {API}/signals/{{signal_id}}/reassign",), sees=SIGNAL,
         act=True, account_of=account_of(*SIGNAL)),
    Tool("create_task", "Choose a task for an acknowledged signal (a template key from its candidates).", TaskAct,
         Task, create_task, (f"POST {API}/signals/{{signal_id}}/tasks",), sees=SIGNAL, act=True,
         account_of=account_of(*SIGNAL)),
    Tool("set_task_outcome", "Record a task's outcome (renewed, churned, expanded, lost, reassigned, "
         "blocked_waiting_on with blocked_on).", OutcomeAct, Task, set_task_outcome,
         (f"POST {API}/tasks/{{task_id}}/outcome",), sees=TASK, act=True, account_of=account_of(*TASK)),
    Tool("create_signal", "Raise a signal for an account; it is routed to its owners with an SLA.", SignalOpenAct,
         SignalCreated, create_signal, (f"POST {API}/signals",), act=True, account_of=account_in_body),
    Tool("start_play_run", "Start a play for an account (optionally from a signal meeting its entry criteria).",
         PlayStartAct, PlayRunCreated, start_play_run, (f"POST {API}/play-runs",), act=True,
         account_of=account_in_body),
    Tool("complete_step", "Complete a play step with its required output fields.", StepAct, PlayRun, complete_step,
         (f"POST {API}/play-runs/{{run_id}}/steps/{{step_key}}/complete",), sees=RUN, act=True,
         account_of=account_of(*RUN)),
    Tool("exit_play_run", "End a play run with one of its exit outcomes.", ExitAct, PlayRun, exit_play_run,
         (f"POST {API}/play-runs/{{run_id}}/exit",), sees=RUN, act=True, account_of=account_of(*RUN)),
    Tool("retry_step", "Retry a failed step's action (ops).", RetryAct, PlayRun, retry_step,
         (f"POST {API}/play-runs/{{run_id}}/steps/{{step_key}}/retry",), roles=OPS, sees=RUN, act=True,
         account_of=account_of(*RUN)),
    Tool("nudge_step", "Nudge the owner of a ready or overdue step you manage: they are paged; once per step per hour.",
         NudgeAct, PlayRun, nudge_step, (f"POST {API}/play-runs/{{run_id}}/steps/{{step_key}}/nudge",), sees=RUN,
         act=True, account_of=account_of(*RUN)),
    Tool("create_handoff", "Open a draft handoff to another team (you are the sender).", HandoffOpenAct, Handoff,
         create_handoff, (f"POST {API}/handoffs",), act=True, account_of=account_in_body),
    Tool("patch_handoff", "Merge context fields into a draft handoff (sender).", HandoffPatchAct, Handoff,
         handoff_update(HandoffWorkflow.patch, with_fields=True), (f"PATCH {H}",), sees=HANDOFF, act=True,
         account_of=account_of(*HANDOFF)),
    Tool("submit_handoff", "Submit a handoff: every required field must be filled.", HandoffAct, Handoff,
         handoff_update(HandoffWorkflow.submit), (f"POST {H}/submit",), sees=HANDOFF, act=True,
         account_of=account_of(*HANDOFF)),
    Tool("accept_handoff", "Accept a handoff (receiver).", HandoffAct, Handoff, handoff_update(HandoffWorkflow.accept),
         (f"POST {H}/accept",), sees=HANDOFF, act=True, account_of=account_of(*HANDOFF)),
    Tool("reject_handoff", "Send a handoff back to draft with a reason (receiver).", HandoffReasonAct, Handoff,
         handoff_update(HandoffWorkflow.reject, with_reason=True), (f"POST {H}/reject",), sees=HANDOFF, act=True,
         account_of=account_of(*HANDOFF)),
    Tool("override_handoff", "Complete a handoff without its gate (a manager); fires a governance signal.",
         HandoffReasonAct, Handoff, handoff_update(HandoffWorkflow.override, with_reason=True),
         (f"POST {H}/override",), sees=HANDOFF, act=True, account_of=account_of(*HANDOFF)),
    Tool("create_action_item", "Record a meeting decision as an action item with an owner and due date.",
         ActionItemAct, ActionItem, create_action_item, (f"POST {API}/agendas/{{agenda_id}}/action-items",), act=True),
    Tool("set_action_item_outcome", "Record an action item's outcome (the task outcomes).", ItemOutcomeAct,
         ActionItem, set_action_item_outcome, (f"POST {API}/action-items/{{item_id}}/outcome",), act=True),
    Tool("record_decision", "Record a ritual meeting's decision on an agenda item (commit class, save play or "
         "deprioritized, blocker, the revised commit, the retro's pattern to the flywheel).", DecisionAct, ItemDecision,
         record_decision, (f"POST {API}/agendas/{{agenda_id}}/decisions",), roles=RITUAL_RUNNERS, act=True),
    Tool("trigger_ritual", "Build a ritual's agenda now, outside its schedule.", TriggerAct, list[TriggeredRun],
         trigger_ritual, (f"POST {API}/rituals/{{ritual_key}}/trigger",), roles=RITUAL_RUNNERS, act=True),
    *(config_act(kind) for kind in ConfigKind),
    Tool("put_rituals_config", "Write a new rituals config version (revops): each ritual's day, time, time zone, lead, "
         "motions, webhook and whether it is switched on; the Temporal Schedules follow it.", RitualsConfigAct,
         RitualsConfigWritten, put_rituals_config, (f"PUT {API}/config/rituals",), roles=EDITORS, act=True),
    Tool("put_account", "Create or replace an account: name, ARR, motion, segment, renewal date, team (revops).",
         AccountAct, AccountOut, put_account, (f"PUT {API}/accounts/{{account_id}}",), roles=EDITORS, act=True,
         account_of=account_in_body),
    Tool("approve_flywheel_proposal", "Approve a flywheel proposal: its changes become the next score-weights "
         "version (revops).", FlywheelApproveAct, FlywheelProposal, approve_flywheel_proposal,
         (f"POST {API}/flywheel/proposals/{{proposal_id}}/approve",), roles=EDITORS, act=True),
    Tool("reject_flywheel_proposal", "Reject a flywheel proposal with a reason (revops).", FlywheelReasonAct,
         FlywheelProposal, reject_flywheel_proposal, (f"POST {API}/flywheel/proposals/{{proposal_id}}/reject",),
         roles=EDITORS, act=True),
    Tool("revert_flywheel_proposal", "Undo an approved flywheel proposal with a newer version (revops).",
         FlywheelReasonAct, FlywheelProposal, revert_flywheel_proposal,
         (f"POST {API}/flywheel/proposals/{{proposal_id}}/revert",), roles=EDITORS, act=True),
    Tool("run_flywheel", "Run the flywheel now, outside its monthly schedule (revops): a new threshold proposal.",
         Act, FlywheelRunStarted, run_flywheel, (f"POST {API}/flywheel/run",), roles=EDITORS, act=True),
    Tool("reset_execution", "Reset a workflow execution to its last completed task and run on (ops, audited).",
         ResetAct, ResetResult, reset_execution, (f"POST {API}/ops/executions/{{workflow_id}}/reset",), roles=OPS,
         act=True),
    Tool("reconcile_execution", "Rebuild an execution's read-model rows from its current run's state (ops): after a "
         "reset, or to repair a row; `rebuilt` is false for a workflow that keeps none.", ReconcileAct, ReconcileResult,
         reconcile_execution, (f"POST {API}/ops/executions/{{workflow_id}}/reconcile",), roles=OPS, act=True),
    Tool("reconcile_executions", "reconcile_execution for one page of executions (ops; default: the running "
         "signals, play runs, handoffs and rituals); `next_cursor` names the next page.", ReconcilePageAct,
         Listed[ReconcileResult], reconcile_executions, (f"POST {API}/ops/executions/reconcile",), roles=OPS,
         act=True),
    Tool("rebalance_territory", "Propose a territory rebalance (manager, vp, cro, revops): when one owner holds too "
         "much of the ARR at risk, their healthy accounts move to the owners with the most room; the saves stay.",
         RebalanceAct, TerritoryProposal, rebalance_territory, (f"POST {API}/territory/rebalance",), roles=PLANNERS,
         act=True),
    Tool("approve_territory_proposal", "Approve a territory rebalance proposal: every account moves to its proposed "
         "owner, or none (vp, cro, revops).", TerritoryApproveAct, TerritoryProposal, approve_territory_proposal,
         (f"POST {API}/territory/proposals/{{proposal_id}}/approve",), roles=DECIDERS, act=True),
    Tool("reject_territory_proposal", "Reject a territory rebalance proposal with a reason; no account moves (vp, "
         "cro, revops).", TerritoryRejectAct, TerritoryProposal, reject_territory_proposal,
         (f"POST {API}/territory/proposals/{{proposal_id}}/reject",), roles=DECIDERS, act=True),
)
