"""Handoffs: the specs (versioned config and its defaults), starting a handoff, reading it and its audit trail."""

import uuid
from datetime import UTC, datetime

from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from core import config_store
from core.db import in_session
from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from core.settings import get_settings
from core.temporal import query_or_read_model, rpc_timeout, run_update
from models.common import Role
from models.handoffs import AuditEntry, Handoff, HandoffAction, HandoffIn, HandoffSpecs, HandoffSpecsIn, HandoffStart, HandoffStatus
from models.signals import AccountSnapshot
from models.tables import Account, HandoffAuditRow, HandoffRow, User
from services.directory import all_reports
from services.visibility import Viewer, only_visible
from workflows import search_attributes as sa
from workflows.handoff import HandoffWorkflow

HANDOFF_SPECS = "handoff_specs"


def _spec(kind, required, senders, receivers, sla, team_role=None):
    return {
        "kind": kind,
        "required_fields": required,
        "sender_roles": senders,
        "receiver_roles": receivers,
        "acceptance_sla": sla,
        "escalation": [{"after": "PT0S", "to": "manager"}],
        "team_change": {"role": team_role} if team_role else None,
    }


DEFAULT_HANDOFF_SPECS = {
    "specs": [
        _spec("ae_to_csm", ["buying_criteria", "champion_map", "procurement_timeline", "known_risks", "open_commitments",
                            "related_signals"], ["ae"], ["csm", "csm_lead"], "PT24H", team_role="csm"),
        _spec("csm_to_support", ["issue_summary", "impact", "known_risks", "related_signals"], ["csm", "csm_lead"],
              ["support"], "PT4H"),
        _spec("sdr_to_ae", ["pain", "buying_criteria", "champion_map", "next_meeting"], ["sdr"], ["ae"], "PT24H",
              team_role="ae"),
    ]
}


def load_default_specs(session: Session) -> None:
    """Version 1 of the handoff specs when there is none (an edited config is never overwritten)."""
    config_store.seed(session, HANDOFF_SPECS, HandoffSpecsIn.model_validate(DEFAULT_HANDOFF_SPECS).model_dump(mode="json"))


def specs_out(row) -> HandoffSpecs:
    return HandoffSpecs.model_validate({**row.body, "version": row.version, "created_at": row.created_at, "created_by": row.created_by})


def current_specs(session: Session) -> HandoffSpecs:
    row = config_store.latest(session, HANDOFF_SPECS)
    if row is None:
        raise PillarError("invalid", "no handoff specs are configured: PUT /api/v1/config/handoffs first")
    return specs_out(row)


def workflow_id_for(handoff_id: str) -> str:
    return f"handoff-{handoff_id}"


def build_start(session: Session, request: HandoffIn, sender_id: str, sender_role: Role) -> HandoffStart:
    """Resolve spec, account and receiver now, once; refuse with the status that names the problem."""
    specs = current_specs(session)
    spec = specs.spec_for(request.kind)
    if spec is None:
        known = ", ".join(s.kind for s in specs.specs)
        raise PillarError("invalid", f"unknown handoff kind {request.kind!r} (known: {known})", {"field": "kind"})
    account = session.get(Account, request.account_id)
    if account is None:
        raise PillarError("invalid", f"unknown account {request.account_id!r}", {"field": "account_id"})
    check_sender(session, spec, account, sender_id, sender_role)
    receiver = session.get(User, request.to_user_id)
    if receiver is None:
        raise PillarError("invalid", f"unknown user {request.to_user_id!r}", {"field": "to_user_id"})
    if Role(receiver.role) not in spec.receiver_roles:
        roles = ", ".join(r.value for r in spec.receiver_roles)
        raise PillarError(
            "invalid", f"{receiver.id} is {receiver.role}; a {spec.kind} handoff goes to: {roles}", {"field": "to_user_id"}
        )
    if receiver.id == sender_id:
        raise PillarError("invalid", "a handoff cannot go to its sender", {"field": "to_user_id"})
    return HandoffStart(
        id="ho-" + uuid.uuid4().hex[:24],
        kind=spec.kind,
        spec=spec,
        specs_version=specs.version,
        account=AccountSnapshot(
            id=account.id, name=account.name, arr=account.arr, motion=account.motion, segment=account.segment, team=account.team
        ),
        from_user_id=sender_id,
        to_user_id=receiver.id,
        fields=request.fields,
        created_at=datetime.now(UTC),
    )


def check_sender(session: Session, spec, account: Account, sender_id: str, sender_role: Role) -> None:
    """The sender holds one of the kind's sender roles on this very account (the role alone is not enough: a
    handoff's acceptance rewrites the account team), or manages whoever holds it; admin may always."""
    roles = ", ".join(r.value for r in spec.sender_roles)
    holders = [account.team[r.value] for r in spec.sender_roles if account.team.get(r.value)]
    if sender_role == Role.admin or sender_id in holders:
        return
    if holders and set(holders) & set(all_reports(session, sender_id)):
        return
    if sender_role not in spec.sender_roles:
        raise PillarError("forbidden", f"a {spec.kind} handoff is sent by: {roles} (you are {sender_role.value})")
    who = ", ".join(holders) or "nobody"
    raise PillarError("forbidden", f"a {spec.kind} handoff for {account.id} is sent by the account's {roles} ({who}) "
                      "or their manager; you do not hold that role on this account")


async def start_handoff(session: Session | AsyncSession, client: Client, request: HandoffIn, sender_id: str,
                        sender_role: Role) -> Handoff:
    start = await in_session(session, build_start, request, sender_id, sender_role)
    workflow_id = workflow_id_for(start.id)
    await client.start_workflow(
        HandoffWorkflow.run,
        start,
        id=workflow_id,
        task_queue=get_settings().temporal_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.HANDOFF_KIND, start.kind),
                SearchAttributePair(sa.STATUS, HandoffStatus.draft.value),
                SearchAttributePair(sa.ACCOUNT_ID, start.account.id),
                SearchAttributePair(sa.OWNER_IDS, [start.to_user_id]),
            ]
        ),
        rpc_timeout=rpc_timeout(),
    )
    return Handoff.draft(start, workflow_id)


def handoff_handle(client: Client, handoff_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(HandoffWorkflow.run, workflow_id_for(handoff_id))


async def get_handoff(session: Session | AsyncSession, client: Client, handoff_id: str) -> Handoff:
    return await query_or_read_model(handoff_handle(client, handoff_id), HandoffWorkflow.state, session, HandoffRow,
                                     handoff_id, f"no handoff {handoff_id!r}")


async def act_on(session: Session | AsyncSession, client: Client, handoff_id: str, update, action: HandoffAction) -> Handoff:
    """Run one of HandoffWorkflow's updates and answer with the handoff as a query reads it (the update's own answer,
    recorded in the history, leaves out the fields); on a completed handoff that is a conflict, not a missing one."""
    try:
        await run_update(handoff_handle(client, handoff_id), update, action)
        return await get_handoff(session, client, handoff_id)
    except PillarError as error:
        if error.code != "not_found":
            raise
    handoff = await get_handoff(session, client, handoff_id)
    raise PillarError("conflict", f"handoff {handoff_id} is already {handoff.status.value}", {"status": handoff.status.value})


def list_handoffs(
    session: Session, status: HandoffStatus | None, account_id: str | None, to_user_id: str | None,
    page: PageRequest = PageRequest(), viewer: Viewer | None = None,
) -> Page[Handoff]:
    """Newest first; with a viewer, on the accounts they may see."""
    query = only_visible(select(HandoffRow), HandoffRow, viewer)
    if status is not None:
        query = query.where(HandoffRow.status == status.value)
    if account_id is not None:
        query = query.where(HandoffRow.account_id == account_id)
    if to_user_id is not None:
        query = query.where(HandoffRow.to_user_id == to_user_id)
    order = (SortKey(HandoffRow.created_at, descending=True), SortKey(HandoffRow.id, descending=True))
    return page_of(session, query, page, "handoffs", order, lambda row: Handoff.model_validate(row.state))


def audit_rows(session: Session, handoff_id: str) -> list[AuditEntry]:
    """By time, then run, then seq: a reset run (`ops reset`) counts seq again from the reset point."""
    rows = session.exec(select(HandoffAuditRow).where(HandoffAuditRow.handoff_id == handoff_id)
                        .order_by(HandoffAuditRow.at, HandoffAuditRow.run_id, HandoffAuditRow.seq))
    return [AuditEntry.model_validate(row, from_attributes=True) for row in rows]


async def audit_trail(session: Session | AsyncSession, client: Client, handoff_id: str) -> list[AuditEntry]:
    """Every transition, oldest first (append-only: nothing updates or deletes these rows)."""
    entries = await in_session(session, audit_rows, handoff_id)
    if not entries:
        await get_handoff(session, client, handoff_id)  # 404 for a handoff that does not exist
    return entries
