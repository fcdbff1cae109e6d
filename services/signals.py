"""Opening signals and acting on them: the one path used by the API, detection and handoff overrides."""

import hashlib
import uuid
from datetime import UTC, datetime

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core import config_store
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.settings import get_settings
from core.db import in_session
from core.temporal import query_or_read_model, rpc_timeout, run_update
from models.common import LATEST, Actor, format_duration
from models.routing import RoutingConfig
from models.signals import (
    AccountSnapshot,
    AcknowledgeInput,
    AcknowledgeResult,
    ReassignInput,
    ReassignRequest,
    SignalCreated,
    SignalDetail,
    SignalIn,
    SignalStart,
    SignalStatus,
    SignalSummary,
)
from models.tables import Account, SignalOwnerRow, SignalRow, User
from services.calendars import business_hours
from services.read_cache import ReadCache, cached
from services.rotations import rule_owners
from services.task_templates import candidates_for
from services.visibility import Viewer, only_visible
from workflows import search_attributes as sa
from workflows.signal import SignalWorkflow


CALLER_KEYS = "caller:"  # the namespace of dedup keys sent through the API (see open_signal)


def signal_id_for(dedup_key: str | None, namespace: str = "") -> str:
    """The same dedup_key always names the same signal, so Temporal's id uniqueness does the dedup. Keys callers send
    are hashed inside their own namespace: no caller can name (and so pre-empt) a detection's or an override's."""
    if dedup_key:
        return "sig-" + hashlib.sha256((namespace + dedup_key).encode()).hexdigest()[:24]
    return "sig-" + uuid.uuid4().hex[:24]


def workflow_id_for(signal_id: str) -> str:
    return f"signal-{signal_id}"


def current_routing(session: Session) -> RoutingConfig:
    row = config_store.latest(session, config_store.ROUTING)
    if row is None:
        raise PillarError("invalid", "no routing matrix is configured: PUT /api/v1/config/routing first")
    return RoutingConfig.model_validate({**row.body, "version": row.version, "created_at": row.created_at})


def build_start(session: Session, request: SignalIn, created_by: str | None, cache: ReadCache | None = None,
                key_namespace: str = "", now: datetime | None = None) -> SignalStart:
    """Resolve account, routing rule and owners now, once; refuse with a 422 that says what is missing. (`now` is
    the Temporal server's time in the time-skipping tests.)"""
    account = cached(cache, ("account", request.account_id), lambda: account_snapshot(session, request.account_id))
    if account is None:
        raise PillarError("invalid", f"unknown account {request.account_id!r}", {"field": "account_id"})
    routing = cached(cache, ("routing",), lambda: current_routing(session))
    rule = routing.rule_for(request.family, request.severity)
    if rule is None:
        raise PillarError(
            "invalid",
            f"no routing rule for family {request.family!r} with severity {request.severity.value!r} "
            f"in routing version {routing.version}",
            {"family": request.family, "severity": request.severity.value, "routing_version": routing.version},
        )
    now = now or datetime.now(UTC)
    owners, unfilled, choices = rule_owners(session, account, rule, now, cache)
    if not owners:
        raise PillarError(
            "invalid",
            f"account {account.id!r} has nobody in the owner role(s) {', '.join(unfilled)}: set its team first",
            {"unfilled_roles": unfilled},
        )
    clock = business_hours(session, rule, owners, now)
    sla_due_at = clock.add(now, rule.sla) if clock else now + rule.sla
    if sla_due_at >= LATEST:
        raise PillarError("invalid", f"an SLA of {format_duration(rule.sla)} on calendar {clock.calendar} falls due after "
                          f"{LATEST:%Y}: give the calendar more working hours", {"calendar": clock.calendar})
    return SignalStart(
        id=signal_id_for(request.dedup_key, key_namespace),
        family=request.family,
        severity=request.severity,
        account=account,
        routing_version=routing.version,
        rule=rule,
        owners=list(owners),
        created_at=now,
        sla_due_at=sla_due_at,
        business_hours=clock,
        evidence=request.evidence,
        created_by=created_by,
        dedup_key=request.dedup_key,
        owner_choices=choices,
    )


def account_snapshot(session: Session, account_id: str) -> AccountSnapshot | None:
    account = session.get(Account, account_id)
    if account is None:
        return None
    return AccountSnapshot(id=account.id, name=account.name, arr=account.arr, motion=account.motion,
                           segment=account.segment, team=account.team)


async def open_signal(session: Session | AsyncSession, client: Client, request: SignalIn, created_by: str | None,
                      cache: ReadCache | None = None, key_namespace: str = "",
                      now: datetime | None = None) -> tuple[SignalCreated, bool]:
    """Start the signal's workflow. Returns the signal and whether it is new (False: the dedup_key was seen with the
    same family, severity and account; with another one it is a 409). The API passes CALLER_KEYS as `key_namespace`;
    detection and handoff overrides keep the bare namespace, which no caller can write."""
    start = await in_session(session, build_start, request, created_by, cache, key_namespace, now)
    workflow_id = workflow_id_for(start.id)
    if request.dedup_key:
        # The read model keeps the key's signal for good; Temporal forgets a closed workflow after its retention, and
        # would then start the same id again (whose writes the stored row, at a higher revision, would ignore).
        stored = await in_session(session, stored_signal, start.id)
        if stored is not None:
            return seen_before(stored, start, request), False
    try:
        await client.start_workflow(
            SignalWorkflow.run,
            start,
            id=workflow_id,
            task_queue=get_settings().temporal_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ACCOUNT_ID, start.account.id),
                    SearchAttributePair(sa.FAMILY, start.family),
                    SearchAttributePair(sa.SEVERITY, start.severity.value),
                    SearchAttributePair(sa.STATUS, "open"),
                    SearchAttributePair(sa.OWNER_IDS, start.owners),
                    SearchAttributePair(sa.ESCALATION_LEVEL, 0),
                ]
            ),
            rpc_timeout=rpc_timeout(),
        )
    except WorkflowAlreadyStartedError:
        return seen_before(await get_signal(session, client, start.id), start, request), False
    return SignalCreated(
        id=start.id, workflow_id=workflow_id, owners=start.owners, sla_due_at=start.sla_due_at, routing_version=start.routing_version
    ), True


def stored_signal(session: Session, signal_id: str) -> SignalDetail | None:
    row = session.get(SignalRow, signal_id)
    return SignalDetail.model_validate(row.state) if row is not None else None


def seen_before(existing: SignalDetail, start: SignalStart, request: SignalIn) -> SignalCreated:
    """The signal a dedup_key already names; a 409 when it is of another family, severity or account."""
    if (existing.family, existing.severity, existing.account_id) != (start.family, start.severity, start.account.id):
        raise PillarError("conflict", f"dedup_key {request.dedup_key!r} already names another signal (another "
                          "family, severity or account): use a key of its own for this one", {"field": "dedup_key"})
    return created_from(existing)


def created_from(signal: SignalDetail) -> SignalCreated:
    return SignalCreated(
        id=signal.id,
        workflow_id=workflow_id_for(signal.id),
        owners=signal.owners,
        sla_due_at=signal.sla_due_at,
        routing_version=signal.routing_version,
    )


def signal_handle(client: Client, signal_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(SignalWorkflow.run, workflow_id_for(signal_id))


async def get_signal(session: Session | AsyncSession, client: Client, signal_id: str) -> SignalDetail:
    return await query_or_read_model(signal_handle(client, signal_id), SignalWorkflow.state, session, SignalRow,
                                     signal_id, f"no signal {signal_id!r}")


async def acknowledge(session: Session | AsyncSession, client: Client, signal_id: str, actor: Actor) -> AcknowledgeResult:
    """An owner (or an escalation target) takes the signal; the answer offers the best task templates for it."""
    signal = await run_update(signal_handle(client, signal_id), SignalWorkflow.acknowledge, AcknowledgeInput(actor=actor))
    return AcknowledgeResult(status=signal.status, task_candidates=await in_session(session, candidates_for, signal))


async def reassign(session: Session | AsyncSession, client: Client, signal_id: str, body: ReassignRequest,
                   actor: Actor) -> SignalDetail:
    """Hand the signal to someone else (its workflow's validator says who may; the new owner must exist). The answer
    is the signal as a query reads it (the update's own answer, recorded in the history, leaves out its timeline,
    tasks and evidence)."""
    if await in_session(session, lambda s: s.get(User, body.to_user_id)) is None:
        raise PillarError("invalid", f"unknown user {body.to_user_id!r}", {"field": "to_user_id"})
    await run_update(signal_handle(client, signal_id), SignalWorkflow.reassign, ReassignInput(actor=actor, **body.model_dump()))
    return await get_signal(session, client, signal_id)


def list_signals(session: Session, status: SignalStatus | None = None, owner_id: str | None = None,
                 account_id: str | None = None, page: PageRequest = PageRequest(),
                 viewer: Viewer | None = None) -> Page[SignalSummary]:
    """Signals from the read model the workflows keep, newest first (with a viewer: on the accounts they may see)."""
    query = only_visible(select(SignalRow), SignalRow, viewer)
    if status is not None:
        query = query.where(SignalRow.status == status.value)
    if account_id is not None:
        query = query.where(SignalRow.account_id == account_id)
    if owner_id is not None:
        query = query.join(SignalOwnerRow, SignalOwnerRow.signal_id == SignalRow.id).where(SignalOwnerRow.user_id == owner_id)
    order = (SortKey(SignalRow.created_at, descending=True), SortKey(SignalRow.id, descending=True))
    return page_of(session, query, page, "signals", order, lambda row: SignalSummary.model_validate(row.state))
