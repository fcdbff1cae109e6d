"""Agendas (Layer IV): each ritual's agenda, scored and pre-populated from what Pillar holds, built for one motion
at one moment (`as_of`, the workflow's time), stored once, and read back with its action items."""

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Text, cast, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import PillarError
from core.paging import Page, PageRequest, SortKey, page_of
from models.common import Severity, TimelineEntry
from models.events import EventKind
from models.financials import CostModel, Financials
from models.plays import PlayRun, RunStatus
from models.rituals import (
    ALL_MOTIONS,
    ActionItem,
    Agenda,
    AgendaItem,
    AgendaRef,
    AgendaSection,
    AgendaStatus,
    AgendaSummary,
    BuildAgendaRequest,
    RitualKind,
    RitualStart,
    TriageWeights,
)
from models.scoring import RiskTier
from models.signals import SignalStatus, SignalSummary
from models.tables import Account, AccountScoreRow, ActionItemRow, AgendaRow, EventRow, PlayRunRow, SignalRow, TaskRow, User
from models.tasks import Task
from services import agendas_cadences as cadences
from services import decisions
from services.events import events_by_account, latest_scores, newest_scores
from services.financials import account_financials, dollars
from services.layer_config import current_cost_model, current_weights
from services.rituals import previous_weekday_start, segment_accounts
from services.scoring import facts_from

DAY = 86400.0
FRIDAY, MONDAY = 4, 0
DECAY_POINTS = 10
RETRO_LOOKBACK = timedelta(days=365)
HEALTH_LOOKBACK = timedelta(days=30)
CROSS_SELL_WATERMARK = "cross_sell_watermark"
REVIEWED_KINDS = ("commit", "renewal")  # what a 1:1 reviews besides the open work
M = TypeVar("M", bound=BaseModel)


def _points(value: float) -> str:
    return f"+{value:g}" if value >= 0 else f"−{-value:g}"


def _days(seconds: float) -> str:
    days = abs(seconds) / DAY
    return f"{days:.1f} days" if days < 10 else f"{days:.0f} days"


def _local(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(ZoneInfo(timezone)):%a %H:%M}"


def _parsed(session: Session, model: type[M], column, *where) -> list[M]:
    """The rows' JSON `column` (a read model's state) as `model`, parsed and validated in one step from the JSON text:
    no ORM objects, no intermediate dicts."""
    return [model.model_validate_json(text) for text in session.exec(select(cast(column, Text)).where(*where))]


def _names(session: Session, user_ids) -> dict[str, User]:
    ids = sorted(set(user_ids))
    return {u.id: u for u in session.exec(select(User).where(User.id.in_(ids)))} if ids else {}


# --- Monday: signal triage ---------------------------------------------------------------------------------


def sla_state(signal: SignalSummary, as_of: datetime) -> str:
    if signal.status == SignalStatus.resolved:
        return "resolved"
    if signal.status == SignalStatus.acknowledged:
        return "acknowledged"
    if signal.status == SignalStatus.escalated:
        return "escalated"
    return "lapsed" if as_of > signal.sla_due_at else "open"


class TriageSignal(SignalSummary):
    """A signal as triage reads it: its summary, tasks and evidence, without its timeline (not parsed)."""

    evidence: dict[str, Any] = {}


def triage_score(signal: SignalSummary, arr: float, as_of: datetime, since: datetime, w: TriageWeights) -> tuple[float, str, dict]:
    """severity + ARR + SLA state + overdue tasks + new since Friday, each part named with its points."""
    state = sla_state(signal, as_of)
    parts = [(f"{signal.severity.value}", w.severity.get(signal.severity, 0))]
    parts.append((f"{dollars(arr)} ARR", round(min(w.arr_cap, arr / 10_000 * w.arr_points_per_10k), 1)))
    if state == "escalated":
        level = max(signal.escalation_level, 1)
        parts.append((f"escalated to level {level}", w.sla_escalated + (level - 1) * w.sla_per_extra_level))
    elif state == "lapsed":
        parts.append((f"SLA lapsed {_days((as_of - signal.sla_due_at).total_seconds())} ago, unacknowledged", w.sla_lapsed))
    elif state == "open":
        parts.append((f"unacknowledged, SLA due in {_days((signal.sla_due_at - as_of).total_seconds())}", w.sla_open))
    else:
        parts.append((state, w.sla_acknowledged))
    overdue = [t for t in signal.tasks if not t.is_final and t.due_at < as_of]
    if overdue:
        parts.append((f"{len(overdue)} overdue task(s)", w.overdue_task * len(overdue)))
    new = signal.created_at >= since
    if new:
        parts.append(("new since Friday", w.new_since_friday))
    score = round(sum(p for _, p in parts), 1)
    why = ", ".join(f"{label} ({_points(p)})" for label, p in parts if p) or "nothing raises it"
    return score, why, {"sla_state": state, "overdue_tasks": len(overdue), "new_since_friday": new}


def build_triage(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    since = previous_weekday_start(start.meeting_at, start.ritual.timezone, FRIDAY)
    signals = _parsed(session, TriageSignal, SignalRow.state, SignalRow.account_id.in_(list(accounts)),
                      or_(SignalRow.status != SignalStatus.resolved.value, SignalRow.created_at >= since))
    items = []
    for signal in signals:
        account = accounts[signal.account_id]
        score, why, facts = triage_score(signal, account.arr, as_of, since, start.triage)
        items.append(AgendaItem(
            kind="signal", ref_id=signal.id, title=f"{signal.severity.value} {signal.family} on {account.name}",
            account_id=account.id, owner_ids=signal.owners, score=score, why=why, due_at=signal.sla_due_at,
            facts={"family": signal.family, "severity": signal.severity.value, "status": signal.status.value, "arr": account.arr,
                   "escalation_level": signal.escalation_level, "created_at": signal.created_at.isoformat(), **facts},
            evidence=list(signal.evidence.get("event_ids", [])) if isinstance(signal.evidence.get("event_ids"), list) else [],
        ))
    items.sort(key=lambda i: (-i.score, i.ref_id))
    new = sum(1 for i in items if i.facts["new_since_friday"])
    w = start.triage
    return {
        "window_start": since,
        "scoring": (f"Each signal scores severity (critical {w.severity.get('critical', 0):g}, warning {w.severity.get('warning', 0):g}, "
                    f"info {w.severity.get('info', 0):g}) + ARR ({w.arr_points_per_10k:g} per $10K, at most {w.arr_cap:g}) + SLA state "
                    f"(escalated {w.sla_escalated:g} and {w.sla_per_extra_level:g} per further level, lapsed {w.sla_lapsed:g}, "
                    f"open {w.sla_open:g}, acknowledged {w.sla_acknowledged:g}) + {w.overdue_task:g} per overdue task + "
                    f"{w.new_since_friday:g} when new since Friday; highest first."),
        "summary": f"{len(items)} signal(s) to triage: {new} fired since Friday, {len(items) - new} older and still unresolved.",
        "sections": [AgendaSection(key="signals", title="Signals fired since Friday and everything unresolved", items=items)],
    }


# --- the deals: each commit and renewal, as the 1:1s and the forecast call read them --------------------


class ScoreValue(BaseModel):
    value: float


class ComponentEvidence(BaseModel):
    evidence: list[str] = []


class ExplainedScore(ScoreValue):
    explanation: str
    components: list[ComponentEvidence]

    @property
    def evidence(self) -> list[str]:
        return [e for c in self.components for e in c.evidence]


class ExplainedRisk(ExplainedScore):
    tier: RiskTier


class DealScore(BaseModel):
    """The part of an account's latest score the deals read: its renewal risk and forecast confidence with their
    explanation and evidence, its health and pipeline quality as numbers. The rest is skipped unparsed: the 1:1s
    read hundreds of scores at a time."""

    as_of: datetime
    health: ScoreValue
    renewal_risk: ExplainedRisk
    forecast_confidence: ExplainedScore
    pipeline_quality: ScoreValue


@dataclass
class Deals:
    """The book as the forecast reads it: each scored account's focus deal (its open renewal, else its newest open
    deal), in commit or in the pipeline; the renewals inside the renewal window with no open opportunity; and the
    latest score and days to renewal of every account whose renewal falls inside that window."""

    commits: list[AgendaItem]
    pipeline: list[AgendaItem]
    unopened: list[AgendaItem]
    renewing: dict[str, tuple[DealScore, int]]


def read_deals(session: Session, as_of: datetime, accounts: dict[str, Account],
               renewal_tiers: Collection[RiskTier] | None = None) -> Deals:
    """Commits weakest evidence first (ties: the larger first), the pipeline largest first. With `renewal_tiers`, only
    the renewals whose latest renewal-risk tier is one of them are read (the 1:1s review the at-risk ones only)."""
    weights = current_weights(session)
    window = weights.renewal_risk.renewal_window_days
    # Only accounts with a deal (a CRM stage change) or a renewal inside the window can be read here: read the
    # scores of those, and the events of the first, in one query each.
    with_deals = set(session.exec(select(EventRow.account_id).distinct().where(
        EventRow.account_id.in_(list(accounts)), EventRow.kind == EventKind.crm_stage_change.value)).all())
    days_to_renewal = {a.id: (a.renewal_date - as_of.date()).days for a in accounts.values() if a.renewal_date}
    due = {a for a, days in days_to_renewal.items() if 0 <= days <= window}
    if renewal_tiers is not None and due:  # from the score history's tier column, before reading whole scores
        due = set(session.exec(select(AccountScoreRow.account_id).where(
            AccountScoreRow.id.in_(newest_scores(sorted(due))), AccountScoreRow.risk_tier.in_([t.value for t in renewal_tiers]))).all())
    scores: dict[str, DealScore] = latest_scores(session, sorted(with_deals | due), DealScore)
    history = events_by_account(session, {a: scores[a].as_of for a in with_deals if a in scores}, weights.windows.lookback)
    deals = Deals(commits=[], pipeline=[], unopened=[], renewing={a: (scores[a], days_to_renewal[a]) for a in sorted(due) if a in scores})
    for account in accounts.values():
        score = scores.get(account.id)
        if score is None:
            continue
        opportunities = []
        if account.id in history:  # only these can have an open opportunity
            opportunities = facts_from(history[account.id], score.as_of, weights.windows).open_opportunities()
        confidence = score.forecast_confidence
        owner_ids = [account.team["ae"]] if account.team.get("ae") else []
        common = {"forecast_confidence": confidence.value, "pipeline_quality": score.pipeline_quality.value, "arr": account.arr,
                  "risk_tier": score.renewal_risk.tier.value, "score_as_of": score.as_of.isoformat()}
        if not opportunities:
            if account.id in due:
                days = days_to_renewal[account.id]
                deals.unopened.append(AgendaItem(
                    kind="renewal", ref_id=account.id, title=f"{account.name}: renewal in {days} days, no open opportunity",
                    account_id=account.id, owner_ids=owner_ids, score=confidence.value, why=confidence.explanation,
                    facts={**common, "renewal_date": account.renewal_date.isoformat()}))
            continue
        focus = ([o for o in opportunities if o.type == "renewal"] or opportunities)[-1]
        amount = focus.amount if focus.amount is not None else account.arr
        item = AgendaItem(
            kind="opportunity", ref_id=focus.id,
            title=f"{account.name}: {focus.type} at {focus.stage}, {dollars(amount)}" + (f", closes {focus.close_date}" if focus.close_date else ""),
            account_id=account.id, owner_ids=owner_ids, score=confidence.value, why=confidence.explanation,
            evidence=confidence.evidence,
            facts={**common, "opportunity_id": focus.id, "stage": focus.stage, "amount": amount,
                   "weighted_amount": round(amount * confidence.value / 100, 2), "close_date": focus.close_date,
                   "close_date_pushes": focus.close_date_pushes, "stalled_days": focus.stalled_days,
                   "commit_without_evidence": focus.stage == "commit" and confidence.value < 50,
                   "other_open_opportunities": [o.id for o in opportunities if o.id != focus.id]},
        )
        (deals.commits if focus.stage == "commit" else deals.pipeline).append(item)
    deals.commits.sort(key=lambda i: (i.score, -i.facts["amount"], i.ref_id))
    deals.pipeline.sort(key=lambda i: (-i.facts["amount"], i.ref_id))
    return deals


# --- Tuesday: execution 1:1s -------------------------------------------------------------------------------


def _due_item(kind: str, ref_id: str, title: str, account_id: str | None, owner_id: str, due_at: datetime | None,
              as_of: datetime, facts: dict) -> AgendaItem:
    late = (as_of - due_at).total_seconds() if due_at else 0
    if due_at is None:
        why = "no due date"
    elif late > 0:
        why = f"overdue by {_days(late)}"
    else:
        why = f"due in {_days(late)}"
    return AgendaItem(kind=kind, ref_id=ref_id, title=title, account_id=account_id, owner_ids=[owner_id],
                      score=round(late / DAY, 2), why=why, due_at=due_at, facts={"overdue": late > 0, **facts})


def _commit_item(commit: AgendaItem) -> AgendaItem:
    """A commit of the forecast as its AE's 1:1 item, pre-scored by the forecast confidence."""
    return commit.model_copy(update={"kind": "commit", "facts": {**commit.facts, "overdue": False}})


def _renewal_item(account: Account, score: DealScore, days: int, money: Financials) -> AgendaItem:
    """An at-risk renewal as its CSM's (else its AE's) 1:1 item, pre-scored by the renewal risk."""
    risk = score.renewal_risk
    owner = account.team.get("csm") or account.team.get("ae")
    return AgendaItem(
        kind="renewal", ref_id=account.id, account_id=account.id, owner_ids=[owner] if owner else [],
        title=f"{account.name}: renews in {days} days ({account.renewal_date}), {risk.tier.value} renewal risk {risk.value:g}",
        score=risk.value, why=f"{risk.explanation}; {money.explanation}", evidence=risk.evidence,
        facts={"overdue": False, "renewal_date": account.renewal_date.isoformat(), "days_to_renewal": days,
               "renewal_risk": risk.value, "risk_tier": risk.tier.value, "health": score.health.value, "arr": account.arr,
               "arr_at_risk": money.arr_at_risk, "cost_to_save": money.cost_to_save, "cost_to_replace": money.cost_to_replace,
               "recommendation": money.recommendation, "score_as_of": score.as_of.isoformat()})


def at_risk_renewals(session: Session, deals: Deals, accounts: dict[str, Account], model: CostModel) -> list[AgendaItem]:
    """The renewals inside the renewal window whose risk tier is an at-risk tier of the cost model, riskiest first."""
    at_risk = {a: found for a, found in deals.renewing.items() if found[0].renewal_risk.tier in model.at_risk_tiers}
    if not at_risk:
        return []
    book = session.exec(select(func.coalesce(func.sum(Account.arr), 0))).one()
    items = []
    for account_id, (score, days) in at_risk.items():
        account, risk = accounts[account_id], score.renewal_risk
        money = account_financials(account.id, account.arr, risk.tier, risk.value, model, model.version, book, score.as_of)
        items.append(_renewal_item(account, score, days, money))
    return sorted(items, key=lambda i: (-i.score, -i.facts["arr_at_risk"], i.ref_id))


def _one_on_one_rank(item: AgendaItem) -> tuple:
    """At-risk renewals riskiest first, then commits weakest evidence first, then the open work most overdue first."""
    if item.kind == "renewal":
        return 0, -item.score, item.ref_id
    if item.kind == "commit":
        return 1, item.score, item.ref_id
    return 2, -item.score, item.ref_id


def _distinct_refs(items: list[AgendaItem]) -> None:
    """A decision is recorded per ref_id: a commit or renewal whose id another item of the agenda already carries (two
    accounts' CRMs may reuse an opportunity id) is told apart by its account."""
    seen: set[str] = set()
    for item in items:
        if item.ref_id in seen and item.kind in REVIEWED_KINDS:
            item.ref_id = f"{item.account_id}/{item.ref_id}"
        seen.add(item.ref_id)


def _open_work(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict[str, list[AgendaItem]]:
    """Per owner: their open play steps, tasks (outside a play) and action items, each scored by days past due."""
    by_owner: dict[str, list[AgendaItem]] = {}
    runs = _parsed(session, PlayRun, PlayRunRow.state, PlayRunRow.status == RunStatus.running.value,
                   PlayRunRow.account_id.in_(list(accounts)))
    for run in runs:
        run = run.as_of(as_of)
        for step in run.open_steps():
            by_owner.setdefault(step.owner_id, []).append(_due_item(
                "play_step", f"{run.id}/{step.key}", f"{run.play_key} on {accounts[run.account_id].name}: {step.title}",
                run.account_id, step.owner_id, step.due_at, as_of,
                {"play_run_id": run.id, "step_key": step.key, "status": step.status.value}))
    tasks = session.exec(select(TaskRow.account_id, cast(TaskRow.state, Text)).where(
        TaskRow.is_open == True, TaskRow.account_id.in_(list(accounts)))).all()  # noqa: E712
    for account_id, state in tasks:
        task = Task.model_validate_json(state)
        if task.play_run_id:
            continue  # its play's steps are listed instead
        by_owner.setdefault(task.owner_id, []).append(_due_item(
            "task", task.id, f"{task.title} ({accounts[account_id].name})", account_id, task.owner_id, task.due_at, as_of,
            {"signal_id": task.signal_id, "outcome": task.outcome.value if task.outcome else None, "blocked_on": task.blocked_on}))
    for item in open_action_items(session, start.motion, before=start.meeting_at):
        by_owner.setdefault(item.owner_id, []).append(_due_item(
            "action_item", item.id, item.title, None, item.owner_id, item.due_at, as_of,
            {"agenda_id": item.agenda_id, "ritual_key": item.ritual_key}))
    return by_owner


def _owner_section(owner_id: str, items: list[AgendaItem], person: User | None) -> AgendaSection:
    items.sort(key=_one_on_one_rank)
    work = [i for i in items if i.kind not in REVIEWED_KINDS]
    overdue = sum(1 for i in work if i.facts["overdue"])
    commits, renewals = sum(1 for i in items if i.kind == "commit"), sum(1 for i in items if i.kind == "renewal")
    return AgendaSection(key=f"owner-{owner_id}", title=f"{person.name} ({person.role})" if person else owner_id, owner_id=owner_id,
                         items=items, summary=f"{renewals} at-risk renewal(s), {commits} commit(s); {overdue} overdue of {len(work)} open")


def _owner_rank(section: AgendaSection) -> tuple:
    return (-sum(1 for i in section.items if i.facts["overdue"]),
            -sum(i.facts["arr_at_risk"] for i in section.items if i.kind == "renewal"), section.owner_id)


def build_one_on_ones(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    by_owner = _open_work(session, start, as_of, accounts)
    model = current_cost_model(session)
    deals = read_deals(session, as_of, accounts, renewal_tiers=model.at_risk_tiers)
    for item in [_commit_item(c) for c in deals.commits] + at_risk_renewals(session, deals, accounts, model):
        if item.owner_ids:  # an account with no AE or CSM has no 1:1 to be reviewed in (the forecast still lists it)
            by_owner.setdefault(item.owner_ids[0], []).append(item)
    _distinct_refs([i for items in by_owner.values() for i in items])
    people = _names(session, by_owner)
    sections = sorted((_owner_section(owner_id, items, people.get(owner_id)) for owner_id, items in by_owner.items()), key=_owner_rank)
    items = [i for s in sections for i in s.items]
    commits = [i for i in items if i.kind == "commit"]
    renewals = [i for i in items if i.kind == "renewal"]
    overdue = sum(1 for i in items if i.facts["overdue"])
    return {
        "scoring": "Per owner (the CSM owns a renewal, else the AE; the AE owns a commit): at-risk renewals first, riskiest "
                   "first (the score is the renewal-risk score, Layer II, for renewals inside the renewal window in an "
                   "at-risk tier, with the ARR at risk); then commits, weakest evidence first (the score is the forecast "
                   "confidence, as on the forecast call); then open play steps, tasks and action items, most overdue first "
                   "(the score is days past due; negative: days until due). Owners with the most overdue work come first, "
                   "then the most renewal ARR at risk. Each item is decided on track, blocked (the blocker) or help needed "
                   "(what help).",
        "summary": f"{len(sections)} owner(s): {len(renewals)} at-risk renewal(s) "
                   f"({dollars(sum(i.facts['arr_at_risk'] for i in renewals))} ARR at risk), {len(commits)} commit(s) worth "
                   f"{dollars(sum(i.facts['amount'] for i in commits))}; {len(items) - len(commits) - len(renewals)} open play "
                   f"step(s), task(s) and action item(s), {overdue} overdue.",
        "sections": sections,
    }


# --- Wednesday: forecast call ------------------------------------------------------------------------------


def build_forecast(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    deals = read_deals(session, as_of, accounts)
    commits, pipeline, unopened = deals.commits, deals.pipeline, deals.unopened
    committed = sum(i.facts["amount"] for i in commits)
    weighted = sum(i.facts["weighted_amount"] for i in commits)
    weak = sum(1 for i in commits if i.facts["commit_without_evidence"])
    return {
        "scoring": "Each deal's evidence score is the account's forecast confidence (Layer II: stage probability, health, "
                   "champion, detractor, close-date pushes, stall). Commits are listed weakest evidence first; a commit "
                   "under 50% is flagged. Pipeline by amount; renewals inside the renewal window with no open opportunity last.",
        "summary": f"{len(commits)} commit(s) worth {dollars(committed)}, evidence-weighted {dollars(weighted)}; "
                   f"{weak} commit(s) under 50% confidence; {len(pipeline)} other open deal(s); {len(unopened)} renewal(s) not opened.",
        "sections": [
            AgendaSection(key="commits", title="Commits, weakest evidence first", items=commits),
            AgendaSection(key="pipeline", title="Other open deals", items=pipeline),
            AgendaSection(key="unopened_renewals", title="Renewals due with no open opportunity", items=unopened),
        ],
    }


# --- Thursday: at-risk review ------------------------------------------------------------------------------


def build_at_risk(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    model = current_cost_model(session)
    book = session.exec(select(func.coalesce(func.sum(Account.arr), 0))).one()
    running: dict[str, list[dict]] = {}
    for play_id, play_key, account_id, stuck_step in session.exec(
            select(PlayRunRow.id, PlayRunRow.play_key, PlayRunRow.account_id, PlayRunRow.stuck_step_key)
            .where(PlayRunRow.status == RunStatus.running.value, PlayRunRow.account_id.in_(list(accounts)))):
        running.setdefault(account_id, []).append({"id": play_id, "play_key": play_key, "stuck_step": stuck_step})
    # Rank every scored account from the score history's columns (the same risk and tier as its detail), then read
    # the whole score of the top ones only.
    ranked = session.exec(select(AccountScoreRow.account_id, AccountScoreRow.renewal_risk, AccountScoreRow.risk_tier)
                          .where(AccountScoreRow.id.in_(newest_scores(list(accounts))))).all()

    def rank(row) -> tuple:
        account_id, risk, tier = row
        return -risk, -(accounts[account_id].arr if tier in model.at_risk_tiers else 0.0), account_id

    scores = latest_scores(session, [account_id for account_id, _, _ in sorted(ranked, key=rank)[: start.ritual.limit]])
    candidates = []
    for account_id, score in scores.items():
        account, risk = accounts[account_id], score.renewal_risk
        money = account_financials(account.id, account.arr, risk.tier, risk.value, model, model.version, book, score.as_of)
        candidates.append(AgendaItem(
            kind="account", ref_id=account.id, title=f"{account.name}: {risk.tier.value} renewal risk {risk.value:g}",
            account_id=account.id, owner_ids=[u for u in (account.team.get("csm"), account.team.get("ae")) if u],
            score=risk.value, why=f"{risk.explanation}; {money.explanation}",
            evidence=[e for c in risk.components for e in c.evidence],
            facts={"risk_tier": risk.tier.value, "health": score.health.value, "arr": account.arr, "arr_at_risk": money.arr_at_risk,
                   "expected_loss": money.expected_loss, "cost_to_save": money.cost_to_save, "cost_to_replace": money.cost_to_replace,
                   "recommendation": money.recommendation, "nrr_impact_points": money.nrr_impact.nrr_impact_points,
                   "renewal_date": account.renewal_date.isoformat() if account.renewal_date else None,
                   "active_plays": running.get(account.id, [])},
        ))
    top = sorted(candidates, key=lambda i: (-i.score, -i.facts["arr_at_risk"], i.ref_id))
    at_risk = sum(i.facts["arr_at_risk"] for i in top)
    without_play = [i.account_id for i in top if i.facts["recommendation"] == "save" and not i.facts["active_plays"]]
    unscored = len(accounts) - len(ranked)
    cross_sell, watermarks = cross_sell_slot(session, accounts, start.ritual.limit)
    return {
        "scoring": f"The {start.ritual.limit} accounts with the highest renewal-risk score (Layer II), ties by ARR at risk; "
                   "each with save vs replace from the cost model (Layer III). The cross-sell slot: the "
                   f"{start.ritual.limit} accounts with an open cross-sell watermark signal and the most ARR (the base the "
                   "adjacent motion sells into), ties by motion-A adoption.",
        "summary": f"Top {len(top)} of {len(ranked)} scored account(s): {dollars(at_risk)} ARR at risk; "
                   f"{len(without_play)} worth saving with no play running" + (f" ({', '.join(without_play)})" if without_play else "")
                   + (f"; {unscored} account(s) not scored yet (no events)" if unscored else "")
                   + f"; cross-sell slot: {len(cross_sell)} of {watermarks} watermark account(s).",
        "sections": [AgendaSection(key="at_risk", title=f"Top {start.ritual.limit} at-risk accounts", items=top),
                     AgendaSection(key="cross_sell", title="Cross-sell slot: cross-sell watermark accounts", items=cross_sell)],
    }


class WatermarkSignal(BaseModel):
    """The part of a cross-sell watermark signal's state the slot reads (its tasks and timeline skipped unparsed)."""

    id: str
    account_id: str
    status: SignalStatus
    owners: list[str]
    created_at: datetime
    evidence: dict[str, Any] = {}


def _watermark_why(arr: float, measured: dict) -> str:
    parts = [f"{dollars(arr)} ARR"]
    if measured.get("program_adoption_pct") is not None:
        parts.append(f"motion-A adoption {measured['program_adoption_pct']:g}%")
    if measured.get("contract_years") is not None:
        parts.append(f"{measured['contract_years']:g}-year contract")
    if measured.get("adjacent_program_present"):
        parts.append("adjacent program present")
    return ", ".join(parts)


def cross_sell_slot(session: Session, accounts: dict[str, Account], limit: int) -> tuple[list[AgendaItem], int]:
    """The `limit` accounts with an open cross-sell watermark signal and the most ARR, and how many have one."""
    signals = _parsed(session, WatermarkSignal, SignalRow.state, SignalRow.account_id.in_(list(accounts)),
                      SignalRow.family == CROSS_SELL_WATERMARK, SignalRow.status != SignalStatus.resolved.value)
    newest = {s.account_id: s for s in sorted(signals, key=lambda s: (s.created_at, s.id))}
    items = []
    for account_id, signal in newest.items():
        account = accounts[account_id]
        measured = signal.evidence.get("measured")
        measured = measured if isinstance(measured, dict) else {}
        adoption, years = measured.get("program_adoption_pct"), measured.get("contract_years")
        items.append(AgendaItem(
            kind="cross_sell", ref_id=account.id, title=f"{account.name}: cross-sell watermark, {dollars(account.arr)} ARR",
            account_id=account.id, owner_ids=[account.team["ae"]] if account.team.get("ae") else signal.owners,
            score=round(account.arr / 1000, 1), why=_watermark_why(account.arr, measured),
            evidence=list(signal.evidence.get("event_ids", [])) if isinstance(signal.evidence.get("event_ids"), list) else [],
            facts={"signal_id": signal.id, "status": signal.status.value, "fired_at": signal.created_at.isoformat(), "arr": account.arr,
                   "program_adoption_pct": adoption, "contract_years": years,
                   "renewal_date": account.renewal_date.isoformat() if account.renewal_date else None}))
    items.sort(key=lambda i: (-i.score, -(i.facts["program_adoption_pct"] or 0), i.ref_id))
    return items[:limit], len(items)


# --- Friday: retro ------------------------------------------------------------------------------------------


class RetroSignal(BaseModel):
    """The part of a signal's state the retro reads: what fired, where, and its timeline. Its tasks and evidence
    are skipped unparsed, which halves the cost of reading a year of signals."""

    id: str
    family: str
    severity: Severity
    account_id: str
    status: SignalStatus
    owners: list[str]
    escalation_level: int = 0
    created_at: datetime
    timeline: list[TimelineEntry] = []


def _timeline_at(signal: RetroSignal, entry_type: str, since: datetime, until: datetime) -> datetime | None:
    return next((e.at for e in signal.timeline if e.type == entry_type and since <= e.at <= until), None)


def _health_by_account(session: Session, account_ids: list[str], since: datetime, at: datetime) -> dict[str, tuple]:
    """Per account: (health as it stood at `since`, health as it stands at `at`), from the score history of the
    `HEALTH_LOOKBACK` before `since` on (an account unscored in that span is not judged)."""
    rows = session.exec(select(AccountScoreRow.account_id, AccountScoreRow.as_of, AccountScoreRow.id, AccountScoreRow.health).where(
        AccountScoreRow.account_id.in_(account_ids), AccountScoreRow.as_of >= since - HEALTH_LOOKBACK, AccountScoreRow.as_of <= at)
        .order_by(AccountScoreRow.as_of, AccountScoreRow.id)).all()
    health: dict[str, list] = {}
    for account_id, as_of, _, value in rows:
        pair = health.setdefault(account_id, [None, None])
        if as_of <= since:
            pair[0] = value
        pair[1] = value
    return {k: tuple(v) for k, v in health.items()}


def build_retro(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    since = previous_weekday_start(start.meeting_at, start.ritual.timezone, MONDAY, strictly_before=False)
    ids = list(accounts)
    # A signal resolves or escalates long after it fired: read the segment's unresolved signals and a year of the rest.
    signals = _parsed(session, RetroSignal, SignalRow.state, SignalRow.account_id.in_(ids), or_(
        SignalRow.status != SignalStatus.resolved.value, SignalRow.created_at >= since - RETRO_LOOKBACK))
    fired, resolved, decayed = [], [], []
    tz = start.ritual.timezone
    for signal in signals:
        name = accounts[signal.account_id].name
        base = dict(account_id=signal.account_id, owner_ids=signal.owners,
                    facts={"family": signal.family, "severity": signal.severity.value, "status": signal.status.value})
        if since <= signal.created_at <= as_of:
            fired.append(AgendaItem(kind="signal", ref_id=signal.id, title=f"{signal.family} on {name}", why=f"fired {_local(signal.created_at, tz)}", **base))
        if (at := _timeline_at(signal, "resolved", since, as_of)) is not None:
            resolved.append(AgendaItem(kind="signal", ref_id=signal.id, title=f"{signal.family} on {name}", why=f"resolved {_local(at, tz)}", **base))
        if (at := _timeline_at(signal, "escalated", since, as_of)) is not None:
            decayed.append(AgendaItem(kind="signal", ref_id=signal.id, title=f"{signal.family} on {name} escalated unacknowledged",
                                      why=f"escalated {_local(at, tz)}, now level {signal.escalation_level}", **base))
    health = _health_by_account(session, ids, since, as_of)
    for account in accounts.values():
        before, now = health.get(account.id, (None, None))
        if before is not None and now is not None and before - now >= DECAY_POINTS:
            decayed.append(AgendaItem(kind="account", ref_id=account.id, title=f"{account.name}: health {before:g} → {now:g}",
                                      account_id=account.id, score=round(now - before, 1), why=f"health fell {before - now:g} points this week",
                                      facts={"health_before": before, "health_now": now}))
    late_items = _parsed(session, ActionItem, ActionItemRow.state, ActionItemRow.motion == start.motion, ActionItemRow.due_at >= since,
                         ActionItemRow.due_at <= as_of)
    for item in late_items:
        if not item.on_time:
            decayed.append(AgendaItem(kind="action_item", ref_id=item.id, title=f"action item missed its due date: {item.title}",
                                      owner_ids=[item.owner_id], due_at=item.due_at,
                                      why="no final outcome by its due date" if not item.is_final else "closed late"))
    pattern = proposed_pattern(session, ids, fired, since, accounts, start.motion)
    return {
        "window_start": since,
        "scoring": "This week (Monday 00:00 local to the agenda's build): signals fired; signals resolved; what decayed — "
                   f"signals that escalated unacknowledged, accounts whose health fell {DECAY_POINTS}+ points, action items that "
                   "missed their due date. The pattern compares this week's most frequent signal family with the four weeks before.",
        "summary": f"{len(fired)} fired, {len(resolved)} resolved, {len(decayed)} decayed.",
        "sections": [
            AgendaSection(key="fired", title="Fired this week", items=fired),
            AgendaSection(key="resolved", title="Resolved this week", items=resolved),
            AgendaSection(key="decayed", title="Decayed this week", items=decayed),
        ],
        "proposed_pattern": pattern,
    }


def proposed_pattern(session: Session, account_ids: list[str], fired: list[AgendaItem], since: datetime,
                     accounts: dict[str, Account], motion: str) -> str:
    """One pattern worth a standing decision: the family that fired most this week against its usual rate."""
    if not fired:
        return (f"No signal fired this week in {motion}. Check that events still arrive for its {len(accounts)} account(s) "
                "before reading the quiet as good news.")
    counts = Counter(i.facts["family"] for i in fired)
    family, count = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    before = session.exec(select(func.count()).select_from(SignalRow).where(
        SignalRow.account_id.in_(account_ids), SignalRow.family == family,
        SignalRow.created_at >= since - timedelta(days=28), SignalRow.created_at < since)).one()
    where = sorted({accounts[i.account_id].name for i in fired if i.facts["family"] == family})
    usual = before / 4
    trend = f"{count}× this week vs {usual:g} a week over the four before"
    return (f"{family} fired {trend}, on {', '.join(where)}. Proposal: make {family} a standing item of Monday triage "
            f"for {motion} and review its threshold with revops if the rate holds next week.")


# --- every agenda: the action items still open --------------------------------------------------------------


def open_action_items(session: Session, motion: str, before: datetime, ritual_key: str | None = None) -> list[ActionItem]:
    query = select(cast(ActionItemRow.state, Text)).where(ActionItemRow.is_open == True, ActionItemRow.motion == motion,  # noqa: E712
                                        ActionItemRow.meeting_at < before)
    if ritual_key is not None:
        query = query.where(ActionItemRow.ritual_key == ritual_key)
    return [ActionItem.model_validate_json(state) for state in session.exec(query.order_by(ActionItemRow.due_at))]


def carried_over(session: Session, start: RitualStart, as_of: datetime) -> AgendaSection:
    """The open items of the ritual's earlier meetings: this meeting's run takes them over (workflows/ritual.py)."""
    rows = session.exec(select(ActionItemRow.meeting_at, cast(ActionItemRow.state, Text)).where(
        ActionItemRow.is_open == True, ActionItemRow.motion == start.motion,  # noqa: E712
        ActionItemRow.ritual_key == start.ritual.key, ActionItemRow.meeting_at < start.meeting_at,
    ).order_by(ActionItemRow.due_at))
    items = []
    for meeting_at, state in rows:
        i = ActionItem.model_validate_json(state)
        item = _due_item("action_item", i.id, i.title, None, i.owner_id, i.due_at, as_of,
                         {"agenda_id": i.agenda_id, "carried_over_from": meeting_at.isoformat(),
                          "history": [c.text for c in i.carries], "overdue_paged": i.overdue_paged,
                          "escalated_to": i.escalated_to})
        item.why = f"carried over from {meeting_at:%a %d %b}: {item.why}"
        items.append(item)
    items.sort(key=lambda i: (-i.score, i.ref_id))
    return AgendaSection(key="carried_over", title="Open action items from earlier meetings", items=items,
                         summary=f"{sum(1 for i in items if i.facts['overdue'])} overdue of {len(items)}")


BUILDERS = {
    RitualKind.signal_triage: build_triage,
    RitualKind.execution_one_on_ones: build_one_on_ones,
    RitualKind.forecast_call: build_forecast,
    RitualKind.at_risk_review: build_at_risk,
    RitualKind.retro: build_retro,
    RitualKind.renewal_triage: cadences.build_renewal_triage,
    RitualKind.pipeline_review: cadences.build_pipeline_review,
    RitualKind.territory_review: cadences.build_territory_review,
    RitualKind.business_review: cadences.build_business_review,
    RitualKind.board_prep: cadences.build_board_prep,
}


def build(session: Session, start: RitualStart, as_of: datetime, workflow_id: str | None) -> Agenda:
    """The agenda for `start`'s meeting as Pillar's data stand at `as_of`."""
    accounts = segment_accounts(session, start.motion)
    parts = BUILDERS[start.ritual.kind](session, start, as_of, accounts)
    sections = parts.pop("sections")
    if start.ritual.kind != RitualKind.execution_one_on_ones:  # the 1:1s already list every open action item
        sections.append(carried_over(session, start, as_of))
    where = "every account" if start.motion == ALL_MOTIONS else f"{len(accounts)} {start.motion} account(s)"
    return Agenda(
        id=start.agenda_id, ritual_key=start.ritual.key, ritual_name=start.ritual.name, kind=start.ritual.kind, motion=start.motion,
        timezone=start.ritual.timezone, meeting_at=start.meeting_at, built_at=as_of, config_version=start.config_version,
        workflow_id=workflow_id, sections=sections, scoring=parts.get("scoring", ""),
        summary=f"{start.ritual.name}, {where}: {parts.get('summary', '')}",
        window_start=parts.get("window_start"), proposed_pattern=parts.get("proposed_pattern"),
    )


# --- storing and reading -------------------------------------------------------------------------------------


def store(session: Session, request: BuildAgendaRequest) -> AgendaRef:
    """Build and store the agenda once: a retried build, or a second run for the same meeting, finds the first."""
    existing = session.get(AgendaRow, request.start.agenda_id)
    if existing is None:
        agenda = build(session, request.start, request.as_of, request.workflow_id)
        session.add(AgendaRow(id=agenda.id, ritual_key=agenda.ritual_key, kind=agenda.kind.value, motion=agenda.motion,
                              meeting_at=agenda.meeting_at, built_at=agenda.built_at, workflow_id=request.workflow_id,
                              config_version=agenda.config_version, body=agenda.model_dump(mode="json", exclude={"action_items"})))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        existing = session.get(AgendaRow, request.start.agenda_id)
    items = sum(len(s["items"]) for s in existing.body["sections"])
    return AgendaRef(id=existing.id, workflow_id=existing.workflow_id, items=items, owned=existing.workflow_id == request.workflow_id)


def action_items_of(session: Session, agenda_id: str) -> list[ActionItem]:
    """The agenda's own action items, then those carried over to it from earlier meetings."""
    rows = session.exec(select(ActionItemRow).where(ActionItemRow.agenda_id == agenda_id).order_by(ActionItemRow.id))
    own = sorted((ActionItem.model_validate(r.state) for r in rows), key=lambda i: int(i.id.rpartition("-a")[2] or 0))
    return own + carried_to(session, agenda_id)


def carried_to(session: Session, agenda_id: str) -> list[ActionItem]:
    """Items of the same ritual's earlier meetings that were carried over to `agenda_id` (and are still there)."""
    agenda = session.get(AgendaRow, agenda_id)
    if agenda is None:
        return []
    rows = session.exec(select(cast(ActionItemRow.state, Text)).where(
        ActionItemRow.ritual_key == agenda.ritual_key, ActionItemRow.motion == agenda.motion,
        ActionItemRow.meeting_at < agenda.meeting_at,
        or_(ActionItemRow.is_open == True, ActionItemRow.outcome_at >= agenda.built_at),  # noqa: E712 (taken after it was built)
    ).order_by(ActionItemRow.due_at, ActionItemRow.id))
    items = (ActionItem.model_validate_json(state) for state in rows)
    return [i for i in items if any(c.to_agenda_id == agenda_id for c in i.carries)]


def agenda_row(session: Session, agenda_id: str) -> AgendaRow:
    row = session.get(AgendaRow, agenda_id)
    if row is None:
        raise PillarError("not_found", f"no agenda {agenda_id!r}")
    return row


def get_agenda(session: Session, agenda_id: str) -> Agenda:
    """The agenda as built, with its status now and its action items."""
    row = agenda_row(session, agenda_id)
    agenda = Agenda.model_validate({**row.body, "status": row.status, "source": row.source,
                                    "action_items": [i.model_dump(mode="json") for i in action_items_of(session, agenda_id)]})
    return decisions.with_decisions(session, row, agenda)


def _summary(row: AgendaRow, open_items: int) -> AgendaSummary:
    return AgendaSummary(id=row.id, ritual_key=row.ritual_key, kind=row.kind, motion=row.motion, meeting_at=row.meeting_at,
                         built_at=row.built_at, status=AgendaStatus(row.status), source=row.source,
                         items=sum(len(s["items"]) for s in row.body.get("sections", [])), open_action_items=open_items)


def list_agendas(session: Session, ritual_key: str | None = None, motion: str | None = None,
                 page: PageRequest = PageRequest()) -> Page[AgendaSummary]:
    """Newest meeting first."""
    query = select(AgendaRow)
    if ritual_key is not None:
        query = query.where(AgendaRow.ritual_key == ritual_key)
    if motion is not None:
        query = query.where(AgendaRow.motion == motion)
    found = page_of(session, query, page, "agendas", (SortKey(AgendaRow.meeting_at, descending=True), SortKey(AgendaRow.id)),
                    lambda row: row)
    rows = found.items
    return Page([_summary(r, n) for r, n in zip(rows, open_items_held(session, rows))], found.next_cursor)


def open_items_held(session: Session, rows: list[AgendaRow]) -> list[int]:
    """How many open action items each agenda's run tracks: its own, less those carried over to a later meeting,
    plus those carried over to it."""
    if not rows:
        return []
    held: dict[str, int] = {}
    for ritual_key in {r.ritual_key for r in rows}:
        latest = max(r.meeting_at for r in rows if r.ritual_key == ritual_key)
        states = session.exec(select(cast(ActionItemRow.state, Text)).where(
            ActionItemRow.ritual_key == ritual_key, ActionItemRow.is_open == True, ActionItemRow.meeting_at <= latest))  # noqa: E712
        for state in states:
            holder = ActionItem.model_validate_json(state).holder
            held[holder] = held.get(holder, 0) + 1
    return [held.get(r.id, 0) for r in rows]


def latest_agenda(session: Session, ritual_key: str, motion: str | None = None) -> Agenda:
    query = select(AgendaRow.id).where(AgendaRow.ritual_key == ritual_key)
    if motion is not None:
        query = query.where(AgendaRow.motion == motion)
    found = session.exec(query.order_by(AgendaRow.meeting_at.desc(), AgendaRow.motion).limit(1)).first()
    if found is None:
        where = f" for motion {motion!r}" if motion else ""
        raise PillarError("not_found", f"ritual {ritual_key!r} has no agenda yet{where}")
    return get_agenda(session, found)
