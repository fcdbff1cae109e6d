"""Territory decisions (Layer III): each owner's book computed live from the latest scores and the directory; a
rebalance proposed when risk concentrates on one owner, approved (the accounts change owner) or rejected like a
flywheel proposal; SE and executive allocations for the critical saves. The arithmetic is pure (`measure`,
`plan_moves`, `allocate`); the functions around it read and write the database."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.common import Role
from models.scoring import RiskTier
from models.tables import Account, AccountScoreRow, PlayRunRow, TerritoryProposalRow, User
from models.territory import (
    Allocation,
    OwnerTerritory,
    TerritoryEffect,
    TerritoryHealth,
    TerritoryMove,
    TerritoryProposal,
    TerritoryProposalStatus,
    TerritorySettings,
)
from services.financials import dollars
from services.layer_config import current_cost_model, current_territory as current_settings
from services.visibility import Viewer, book_wide, only_visible, team_of


@dataclass(frozen=True)
class Line:
    """One account as the territory reads it."""

    account: Account
    owner_id: str | None
    tier: RiskTier | None
    risk: float
    health: float | None
    at_risk: bool
    running_plays: int


# --- reading the book ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Someone:
    """A manager as `team_of` takes them."""

    id: str
    role: Role = Role.manager


def _owners(session: Session, settings: TerritorySettings, viewer: Viewer | None, manager_id: str | None) -> list[User]:
    query = select(User).where(User.role == settings.owner_role.value, User.disabled_at.is_(None))
    if manager_id:
        if session.get(User, manager_id) is None:
            raise PillarError("invalid", f"unknown user {manager_id!r}", {"field": "manager_id"})
        query = query.where(User.id.in_(list(session.execute(team_of(_Someone(manager_id))).scalars().all())))
    if viewer is not None and not book_wide(viewer):
        query = query.where(User.id.in_(list(session.execute(team_of(viewer)).scalars().all())))
    return list(session.exec(query.order_by(User.id)))


def _lines(session: Session, settings: TerritorySettings, viewer: Viewer | None, owner_ids: set[str] | None) -> list[Line]:
    accounts = [a for a in session.exec(only_visible(select(Account), Account, viewer).order_by(Account.id))
                if owner_ids is None or (a.team or {}).get(settings.owner_role.value) in owner_ids]
    ids = [a.id for a in accounts]
    latest = select(func.max(AccountScoreRow.id)).where(AccountScoreRow.account_id.in_(ids)).group_by(AccountScoreRow.account_id)
    scores = {r.account_id: r for r in session.exec(select(  # the score's columns, not its explained detail
        AccountScoreRow.account_id, AccountScoreRow.risk_tier, AccountScoreRow.renewal_risk, AccountScoreRow.health)
        .where(AccountScoreRow.id.in_(latest)))} if ids else {}
    plays = dict(session.exec(select(PlayRunRow.account_id, func.count()).where(
        PlayRunRow.status == "running", PlayRunRow.account_id.in_(ids)).group_by(PlayRunRow.account_id)).all()) if ids else {}
    at_risk_tiers = set(current_cost_model(session).at_risk_tiers)
    lines = []
    for account in accounts:
        score = scores.get(account.id)
        tier = RiskTier(score.risk_tier) if score else None
        lines.append(Line(account, (account.team or {}).get(settings.owner_role.value), tier, score.renewal_risk if score else 0.0,
                          score.health if score else None, tier in at_risk_tiers, plays.get(account.id, 0)))
    return lines


def book_lines(session: Session, viewer: Viewer | None = None) -> list[Line]:
    """Every account the viewer may see, with its latest tier and whether its ARR counts as at risk (the dashboard)."""
    return _lines(session, current_settings(session), viewer, None)


def load_units(lines: list[Line], settings: TerritorySettings) -> int:
    return sum(settings.save_units if line.at_risk else 1 for line in lines)


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def measure(lines: list[Line], owners: list[User], settings: TerritorySettings, as_of: datetime) -> TerritoryHealth:
    """Each owner's book (owners with no account included: they are where work can go), coverage and concentration."""
    total_at_risk = sum(line.account.arr for line in lines if line.at_risk)
    by_owner: dict[str | None, list[Line]] = {}
    for line in lines:
        by_owner.setdefault(line.owner_id, []).append(line)
    rows = []
    for owner in owners:
        mine = by_owner.get(owner.id, [])
        scored = [line for line in mine if line.health is not None]
        weight = sum(line.account.arr for line in scored)
        health = round(sum(line.health * line.account.arr for line in scored) / weight, 1) if weight else None
        at_risk = [line for line in mine if line.at_risk]
        units = load_units(mine, settings)
        rows.append(OwnerTerritory(
            owner_id=owner.id, name=owner.name, accounts=len(mine), arr=sum(line.account.arr for line in mine),
            at_risk_accounts=len(at_risk), arr_at_risk=sum(line.account.arr for line in at_risk),
            critical_accounts=sum(line.tier == RiskTier.critical for line in mine), health=health,
            running_plays=sum(line.running_plays for line in mine), load_units=units,
            capacity_pct=_pct(units, settings.capacity_units), at_risk_share_pct=_pct(sum(line.account.arr for line in at_risk), total_at_risk)))
    rows.sort(key=lambda r: (-r.arr_at_risk, -r.load_units, r.owner_id))
    top = rows[0] if rows else None
    concentrated = top.owner_id if top and total_at_risk and top.at_risk_share_pct > 100 * settings.concentration_share else None
    unowned = [line.account.id for line in by_owner.get(None, [])]
    role = settings.owner_role.value
    explanation = (f"{dollars(total_at_risk)} of {dollars(sum(line.account.arr for line in lines))} ARR at risk across "
                   f"{len(rows)} {role}(s); " + (f"{concentrated} holds {top.at_risk_share_pct:g}% of it (over "
                   f"{100 * settings.concentration_share:g}%): risk concentrates" if concentrated else "risk does not concentrate on one owner")
                   + (f"; {len(unowned)} account(s) without a {role}" if unowned else ""))
    return TerritoryHealth(
        as_of=as_of, owner_role=settings.owner_role, book_arr=sum(line.account.arr for line in lines), arr_at_risk=total_at_risk,
        accounts=len(lines), coverage_pct=_pct(len(lines) - len(unowned), len(lines)) if lines else None, unowned=unowned,
        unscored=sum(line.health is None for line in lines), owners=rows, concentrated_on=concentrated,
        explanation=explanation,
    )


def territory_health(session: Session, viewer: Viewer | None = None, manager_id: str | None = None) -> TerritoryHealth:
    """The territory the viewer may see: every owner and account for book-wide roles; for anyone else the owners in
    their team and the accounts they may see (with those accounts' owners)."""
    settings = current_settings(session)
    owners = _owners(session, settings, viewer, manager_id)
    lines = _lines(session, settings, viewer, {o.id for o in owners} if manager_id else None)
    missing = sorted({line.owner_id for line in lines if line.owner_id} - {o.id for o in owners})
    owners += [u for u in (session.get(User, owner_id) for owner_id in missing) if u is not None and u.role == settings.owner_role.value]
    return measure(lines, owners, settings, datetime.now(UTC))


# --- rebalancing ----------------------------------------------------------------------------------------------


def plan_moves(lines: list[Line], health: TerritoryHealth, settings: TerritorySettings) -> tuple[list[TerritoryMove], list[TerritoryEffect]]:
    """Keep the saves with the owner who knows the accounts; move that owner's healthy accounts, smallest first, each
    to the owner with the most room, while a move narrows the gap and stays within capacity."""
    source = health.concentrated_on
    rows = {r.owner_id: r for r in health.owners}
    before = {owner_id: r.load_units for owner_id, r in rows.items()}
    load = dict(before)
    saves = rows[source]
    movable = sorted((line for line in lines if line.owner_id == source and not line.at_risk), key=lambda line: (line.account.arr, line.account.id))
    moves = []
    for line in movable:
        receivers = sorted((o for o in load if o != source), key=lambda o: (load[o], o))
        if not receivers:
            break
        to = receivers[0]
        if load[to] + 1 >= load[source] or load[to] + 1 > settings.capacity_units:
            break
        load[to], load[source] = load[to] + 1, load[source] - 1
        moves.append(TerritoryMove(
            account_id=line.account.id, account_name=line.account.name, arr=line.account.arr, risk_tier=line.tier, from_owner=source,
            to_owner=to, why=f"{source} holds {saves.at_risk_share_pct:g}% of the ARR at risk ({dollars(saves.arr_at_risk)}, "
                             f"{saves.at_risk_accounts} save(s) to run); {line.account.name} is {line.tier.value if line.tier else 'unscored'} "
                             f"and needs no save; {to} has the most room ({load[to] - 1} of {settings.capacity_units} units)"))
    effects = [TerritoryEffect(owner_id=o, load_before=before[o], load_after=load[o],
                               capacity_pct_before=_pct(before[o], settings.capacity_units), capacity_pct_after=_pct(load[o], settings.capacity_units))
               for o in sorted(load) if load[o] != before[o]]
    return moves, effects


def propose(session: Session, actor_id: str, manager_id: str | None = None) -> TerritoryProposal:
    """A rebalance proposal when risk concentrates and someone has room; a 409 saying why not otherwise."""
    settings = current_settings(session)
    owners = _owners(session, settings, None, manager_id)
    lines = _lines(session, settings, None, {o.id for o in owners} if manager_id else None)
    health = measure(lines, owners, settings, datetime.now(UTC))
    if health.concentrated_on is None:
        raise PillarError("conflict", f"nothing to rebalance: {health.explanation}", {"territory": health.explanation})
    moves, effects = plan_moves(lines, health, settings)
    if not moves:
        raise PillarError("conflict", f"risk concentrates on {health.concentrated_on}, but no other {settings.owner_role.value} "
                          f"has room for their healthy accounts: add capacity", {"territory": health.explanation})
    source = next(e for e in effects if e.owner_id == health.concentrated_on)
    summary = (f"move {len(moves)} healthy account(s) ({dollars(sum(m.arr for m in moves))} ARR) from {health.concentrated_on} "
               f"to {', '.join(sorted({m.to_owner for m in moves}))}: {health.concentrated_on}'s load {source.load_before} → "
               f"{source.load_after} of {settings.capacity_units} units while running the saves on {dollars(health.owners[0].arr_at_risk)} at risk")
    now = datetime.now(UTC)
    proposal = TerritoryProposal(id=f"terr-{uuid.uuid4().hex[:12]}", status=TerritoryProposalStatus.proposed, created_at=now,
                                 created_by=actor_id, owner_role=settings.owner_role, concentrated_on=health.concentrated_on,
                                 summary=summary, moves=moves, expected=effects)
    session.add(TerritoryProposalRow(id=proposal.id, status=proposal.status.value, created_at=now, created_by=actor_id,
                                     body=proposal.model_dump(mode="json")))
    session.commit()
    return proposal


def _row(session: Session, proposal_id: str) -> TerritoryProposalRow:
    row = session.get(TerritoryProposalRow, proposal_id)
    if row is None:
        raise PillarError("not_found", f"no territory proposal {proposal_id!r}")
    return row


def get_proposal(session: Session, proposal_id: str) -> TerritoryProposal:
    return TerritoryProposal.model_validate(_row(session, proposal_id).body)


def list_proposals(session: Session, status: TerritoryProposalStatus | None = None,
                   page: PageRequest = PageRequest()) -> Page[TerritoryProposal]:
    """Newest first."""
    query = select(TerritoryProposalRow)
    if status:
        query = query.where(TerritoryProposalRow.status == status.value)
    order = (SortKey(TerritoryProposalRow.created_at, descending=True), SortKey(TerritoryProposalRow.id, descending=True))
    return page_of(session, query, page, "territory_proposals", order, lambda row: TerritoryProposal.model_validate(row.body))


def _decide(session: Session, row: TerritoryProposalRow, status: TerritoryProposalStatus, actor_id: str, note: str | None) -> TerritoryProposal:
    now = datetime.now(UTC)
    proposal = TerritoryProposal.model_validate(row.body).model_copy(
        update={"status": status, "decided_by": actor_id, "decided_at": now, "note": note})
    row.status, row.decided_by, row.decided_at, row.body = status.value, actor_id, now, proposal.model_dump(mode="json")
    session.add(row)
    session.commit()
    return proposal


def _undecided(session: Session, proposal_id: str) -> TerritoryProposalRow:
    """The proposal, locked until the decision commits (two approvals at once: the second finds it decided)."""
    row = session.get(TerritoryProposalRow, proposal_id, with_for_update=True) or _row(session, proposal_id)
    if row.status != TerritoryProposalStatus.proposed.value:
        raise PillarError("conflict", f"territory proposal {proposal_id} is already {row.status}")
    return row


def approve(session: Session, proposal_id: str, actor_id: str, note: str | None = None) -> TerritoryProposal:
    """Move every account to its new owner, or none: an account whose owner changed since the proposal is a 409."""
    row = _undecided(session, proposal_id)
    proposal = TerritoryProposal.model_validate(row.body)
    role = proposal.owner_role.value
    accounts = {m.account_id: session.get(Account, m.account_id) for m in proposal.moves}
    for move in proposal.moves:
        account = accounts[move.account_id]
        now_owner = (account.team or {}).get(role) if account else None
        if now_owner != move.from_owner:
            raise PillarError("conflict", f"{move.account_id}'s {role} is now {now_owner or 'nobody'}, not {move.from_owner}: "
                              f"ask for a new rebalance", {"account_id": move.account_id})
    for move in proposal.moves:
        account = accounts[move.account_id]
        account.team = {**account.team, role: move.to_owner}  # a new dict: the JSON column and account_members follow
        account.updated_at = datetime.now(UTC)
        session.add(account)
    return _decide(session, row, TerritoryProposalStatus.approved, actor_id, note)


def reject(session: Session, proposal_id: str, actor_id: str, reason: str) -> TerritoryProposal:
    return _decide(session, _undecided(session, proposal_id), TerritoryProposalStatus.rejected, actor_id, reason)


# --- allocations ----------------------------------------------------------------------------------------------


def allocate(critical: list[Line], ses: list[User], executives: dict[Role, User | None], settings: TerritorySettings) -> list[Allocation]:
    """Biggest save first; each gets the SE with the fewest critical saves so far, and the CRO when its ARR reaches
    `executive_arr` (else the VP) as executive sponsor."""
    given = {se.id: 0 for se in ses}
    out = []
    for line in sorted(critical, key=lambda line: (-line.account.arr, -line.risk, line.account.id)):
        se = min(given, key=lambda s: (given[s], s)) if given else None
        if se:
            given[se] += 1
        big = line.account.arr >= settings.executive_arr
        executive = executives.get(Role.cro) if big else None
        executive = executive or executives.get(Role.vp)
        sponsor = (f"{executive.id} ({executive.role}) as executive sponsor: ARR {'at or above' if big else 'under'} "
                   f"{dollars(settings.executive_arr)}" if executive else "no executive to sponsor it")
        out.append(Allocation(
            account_id=line.account.id, account_name=line.account.name, arr=line.account.arr, renewal_risk=line.risk, se_id=se,
            executive_id=executive.id if executive else None,
            why=f"critical renewal risk {line.risk:g} on {dollars(line.account.arr)} ARR; "
                + (f"{se} for the technical recovery ({given[se]} critical save(s) with this one); " if se else "no SE in the directory; ")
                + sponsor))
    return out


def allocations(session: Session, viewer: Viewer | None = None) -> list[Allocation]:
    settings = current_settings(session)
    critical = [line for line in _lines(session, settings, viewer, None) if line.tier == RiskTier.critical]
    users = list(session.exec(select(User).where(User.role.in_([Role.se.value, Role.cro.value, Role.vp.value]),
                                                  User.disabled_at.is_(None)).order_by(User.id)))
    executives = {role: next((u for u in users if u.role == role.value), None) for role in (Role.cro, Role.vp)}
    return allocate(critical, [u for u in users if u.role == Role.se.value], executives, settings)
