"""Agendas of the cadences beyond the weekly five (issue 16): biweekly renewal triage, weekly pipeline review,
monthly territory review, quarterly business review and the CRO's Monday board prep. Each is scored from the same
layers as the weekly ones: Layer II scores, Layer III money (cost model, NRR) and territory, and deals from events."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from models.events import EventKind
from models.financials import Financials, LostAccount
from models.plays import PlayRun, RunStatus
from models.rituals import AgendaItem, AgendaSection, RitualStart
from models.scoring import Opportunity, RiskTier
from models.tables import Account, AccountScoreRow, EventRow, PlayRunRow, TaskRow, User
from models.territory import TerritoryProposalStatus
from services.events import events_by_account, newest_scores
from services.financials import account_financials, dollars, nrr_scenario
from services.layer_config import current_cost_model, current_territory, current_weights
from services.scoring import facts_from
from services.territory import book_lines, list_proposals, measure

DAY = 86400.0
NEAR, FAR = 90, 180  # renewal triage's two horizons, in days
STALL_POINTS, PUSH_POINTS, NO_STEP_POINTS, LATE_STEP_POINTS = 30, 10, 20, 15
AMOUNT_POINTS_PER_10K, AMOUNT_CAP = 1.0, 30


@dataclass(frozen=True)
class Book:
    """An account as the money agendas read it: its latest renewal risk and forecast confidence, and its financials
    (none when never scored)."""

    account: Account
    risk: float
    forecast_confidence: float | None
    money: Financials | None


def _book(session: Session, accounts: dict[str, Account]) -> tuple[list[Book], float]:
    """Every account of the segment with its score and money, and the whole book's ARR (NRR is over the book). The
    scores are read from their columns, not their explained detail: the whole book's agendas read thousands."""
    model = current_cost_model(session)
    book_arr = session.exec(select(func.coalesce(func.sum(Account.arr), 0))).one()
    scores = {row.account_id: row for row in session.exec(select(
        AccountScoreRow.account_id, AccountScoreRow.as_of, AccountScoreRow.renewal_risk, AccountScoreRow.risk_tier,
        AccountScoreRow.forecast_confidence).where(AccountScoreRow.id.in_(newest_scores(list(accounts)))))} if accounts else {}
    lines = []
    for account in accounts.values():
        score = scores.get(account.id)
        if score is None:
            lines.append(Book(account, 0.0, None, None))
            continue
        money = account_financials(account.id, account.arr, RiskTier(score.risk_tier), score.renewal_risk, model, model.version,
                                   book_arr, score.as_of)
        lines.append(Book(account, score.renewal_risk, score.forecast_confidence, money))
    return lines, book_arr


def _running_plays(session: Session, account_ids: list[str]) -> dict[str, list[dict]]:
    running: dict[str, list[dict]] = {}
    for play_id, play_key, account_id, stuck_step in session.exec(
            select(PlayRunRow.id, PlayRunRow.play_key, PlayRunRow.account_id, PlayRunRow.stuck_step_key)
            .where(PlayRunRow.status == RunStatus.running.value, PlayRunRow.account_id.in_(account_ids))):
        running.setdefault(account_id, []).append({"id": play_id, "play_key": play_key, "stuck_step": stuck_step})
    return running


def _money_facts(line: Book) -> dict:
    money = line.money
    facts = {"arr": line.account.arr, "renewal_date": line.account.renewal_date.isoformat() if line.account.renewal_date else None}
    if money is None:
        return facts
    return {**facts, "risk_tier": money.risk_tier.value, "renewal_risk": money.renewal_risk, "arr_at_risk": money.arr_at_risk,
            "expected_loss": money.expected_loss, "cost_to_save": money.cost_to_save, "cost_to_replace": money.cost_to_replace,
            "recommendation": money.recommendation, "nrr_impact_points": money.nrr_impact.nrr_impact_points}


def _owners_of(account: Account) -> list[str]:
    return [u for u in (account.team.get("csm"), account.team.get("ae")) if u]


# --- biweekly: renewal triage -------------------------------------------------------------------------------


def build_renewal_triage(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    lines, _ = _book(session, accounts)
    near, far = [], []
    for line in lines:
        renewal = line.account.renewal_date
        days = (renewal - as_of.date()).days if renewal else None
        if days is None or not 0 <= days <= FAR:
            continue
        score = round(line.risk / 100 * line.account.arr / 1000, 1)
        risk = (f"renewal risk {line.risk:g} ({line.money.risk_tier.value}) × {dollars(line.account.arr)} ARR = {score:g}"
                if line.money else "not scored yet (no events): risk unknown")
        why = f"{risk}; {line.money.explanation}" if line.money else risk
        item = AgendaItem(kind="renewal", ref_id=line.account.id, title=f"{line.account.name}: renews in {days} days ({renewal})",
                          account_id=line.account.id, owner_ids=_owners_of(line.account), score=score, why=why,
                          facts={**_money_facts(line), "days_to_renewal": days})
        (near if days <= NEAR else far).append(item)
    for items in (near, far):
        items.sort(key=lambda i: (-i.score, i.ref_id))
    saves = [i for i in near + far if i.facts.get("recommendation") == "save"]
    return {
        "scoring": f"Renewals in the next {FAR} days, each scored renewal risk (Layer II, 0–100) × ARR, in $K of risk-weighted "
                   "ARR; highest first, the next 90 days before the 90 after. Each with save vs replace from the cost model "
                   "(Layer III): save when the ARR is at risk and saving costs less than replacing.",
        "summary": f"{len(near)} renewal(s) in {NEAR} days, {len(far)} in {NEAR + 1}–{FAR} days; {len(saves)} worth a save "
                   f"({dollars(sum(i.facts['cost_to_save'] for i in saves))} to save vs "
                   f"{dollars(sum(i.facts['cost_to_replace'] for i in saves))} to replace).",
        "sections": [AgendaSection(key="renewals_90", title=f"Renewals in the next {NEAR} days, riskiest ARR first", items=near),
                     AgendaSection(key="renewals_180", title=f"Renewals in {NEAR + 1}–{FAR} days", items=far)],
    }


# --- weekly: pipeline review ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    title: str
    owner_id: str
    due_at: datetime


def _next_steps(session: Session, account_ids: list[str], as_of: datetime) -> dict[str, NextStep]:
    """Each account's next step: the earliest-due open play step or task on it (a task of a play counts as its step)."""
    steps: dict[str, list[NextStep]] = {}
    for state in session.exec(select(PlayRunRow.state).where(
            PlayRunRow.status == RunStatus.running.value, PlayRunRow.account_id.in_(account_ids))):
        run = PlayRun.model_validate(state).as_of(as_of)
        steps.setdefault(run.account_id, []).extend(
            NextStep(f"{run.play_key}: {s.title}", s.owner_id, s.due_at) for s in run.open_steps() if s.due_at)
    for account_id, owner_id, due_at, state in session.exec(select(TaskRow.account_id, TaskRow.owner_id, TaskRow.due_at, TaskRow.state)
                                                             .where(TaskRow.is_open == True, TaskRow.account_id.in_(account_ids))):  # noqa: E712
        if not state.get("play_run_id"):
            steps.setdefault(account_id, []).append(NextStep(state.get("title", "task"), owner_id, due_at))
    return {account_id: min(found, key=lambda s: s.due_at) for account_id, found in steps.items() if found}


def _open_deals(session: Session, accounts: dict[str, Account], as_of: datetime) -> list[tuple[Account, Opportunity]]:
    """The open opportunities of the segment's accounts as their CRM events stand at `as_of`."""
    weights = current_weights(session)
    with_deals = session.exec(select(EventRow.account_id).distinct().where(
        EventRow.account_id.in_(list(accounts)), EventRow.kind == EventKind.crm_stage_change.value)).all()
    history = events_by_account(session, dict.fromkeys(with_deals, as_of), weights.windows.lookback)
    return [(accounts[account_id], o) for account_id, events in sorted(history.items())
            for o in facts_from(events, as_of, weights.windows).open_opportunities()]


def deal_score(opportunity: Opportunity, step: NextStep | None, stall_days: float, as_of: datetime,
               arr: float) -> tuple[float, list[tuple[str, float]]]:
    """How much a deal needs the meeting: stall + close-date pushes + next-step accountability + its size."""
    amount = opportunity.amount if opportunity.amount is not None else arr
    parts = [(f"{dollars(amount)}", round(min(AMOUNT_CAP, amount / 10_000 * AMOUNT_POINTS_PER_10K), 1))]
    if opportunity.stalled_days >= stall_days:
        parts.append((f"stalled: no stage change for {opportunity.stalled_days:.0f} days", STALL_POINTS))
    if opportunity.close_date_pushes:
        parts.append((f"close date pushed {opportunity.close_date_pushes}×", PUSH_POINTS * opportunity.close_date_pushes))
    if step is None:
        parts.append(("no next step", NO_STEP_POINTS))
    elif step.due_at < as_of:
        parts.append((f"next step overdue by {(as_of - step.due_at).total_seconds() / DAY:.1f} days ({step.owner_id})", LATE_STEP_POINTS))
    return round(sum(p for _, p in parts), 1), parts


def _in_words(parts: list[tuple[str, float]]) -> str:
    return ", ".join(f"{label} (+{points:g})" for label, points in parts)


def build_pipeline_review(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    weights = current_weights(session)
    stall_days = weights.windows.stall_after.total_seconds() / DAY
    deals = _open_deals(session, accounts, as_of)
    steps = _next_steps(session, sorted({a.id for a, _ in deals}), as_of)
    items, unaccounted = [], []
    for account, opportunity in deals:
        step = steps.get(account.id)
        score, parts = deal_score(opportunity, step, stall_days, as_of, account.arr)
        ae = account.team.get("ae")
        item = AgendaItem(
            kind="opportunity", ref_id=opportunity.id, account_id=account.id, score=score, why=_in_words(parts),
            title=f"{account.name}: {opportunity.type} at {opportunity.stage}" + (f", closes {opportunity.close_date}" if opportunity.close_date else ""),
            owner_ids=[ae] if ae else [], due_at=step.due_at if step else None, evidence=opportunity.evidence,
            facts={"stage": opportunity.stage, "stage_probability": weights.forecast_confidence.stage_probability.get(opportunity.stage, 0),
                   "amount": opportunity.amount, "stalled_days": round(opportunity.stalled_days, 1),
                   "stalled": opportunity.stalled_days >= stall_days, "close_date_pushes": opportunity.close_date_pushes,
                   "next_step": step.title if step else None, "next_step_owner": step.owner_id if step else None,
                   "overdue": bool(step and step.due_at < as_of)})
        items.append(item)
        if step is None or step.due_at < as_of:
            unaccounted.append(item.model_copy(update={
                "owner_ids": [step.owner_id] if step else item.owner_ids,
                "why": f"{step.title}: overdue, owned by {step.owner_id}" if step else "no next step: the AE owes one"}))
    items.sort(key=lambda i: (-i.score, i.ref_id))
    unaccounted.sort(key=lambda i: (-i.score, i.ref_id))
    stalled = sum(1 for i in items if i.facts["stalled"])
    return {
        "scoring": f"Each open deal scores its size ({AMOUNT_POINTS_PER_10K:g} per $10K, at most {AMOUNT_CAP}) + {STALL_POINTS} when "
                   f"stalled (no stage change for {stall_days:g}+ days) + {PUSH_POINTS} per close-date push + {NO_STEP_POINTS} with "
                   f"no next step or {LATE_STEP_POINTS} when its next step (the earliest open play step or task on the account) "
                   "is overdue; highest first.",
        "summary": f"{len(items)} open deal(s) worth {dollars(sum(i.facts['amount'] or 0 for i in items))}: {stalled} stalled, "
                   f"{sum(1 for i in items if i.facts['close_date_pushes'])} with a pushed close date, {len(unaccounted)} without "
                   "a next step on time.",
        "sections": [AgendaSection(key="deals", title="Open deals, most in need of the meeting first", items=items),
                     AgendaSection(key="next_steps", title="Next-step accountability: none, or overdue", items=unaccounted)],
    }


# --- monthly: territory review -----------------------------------------------------------------------------------


def build_territory_review(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    settings = current_territory(session)
    lines = [line for line in book_lines(session) if line.account.id in accounts]
    owners = list(session.exec(select(User).where(User.role == settings.owner_role.value, User.disabled_at.is_(None)).order_by(User.id)))
    health = measure(lines, owners, settings, as_of)
    save_cost = {tier: sum(i.cost for i in items) for tier, items in current_cost_model(session).save_costs.items()}
    saves: Counter = Counter()
    for line in lines:
        if line.at_risk:
            saves[line.owner_id] += save_cost[line.tier]
    items = []
    for row in health.owners:
        save = saves[row.owner_id]
        per_unit = round(row.arr / row.load_units, 2) if row.load_units else 0.0
        items.append(AgendaItem(
            kind="owner", ref_id=row.owner_id, title=f"{row.name or row.owner_id}: {row.accounts} account(s), {dollars(row.arr)} ARR",
            owner_ids=[row.owner_id], score=row.capacity_pct,
            why=(f"load {row.load_units} of {settings.capacity_units} units ({row.capacity_pct:g}% of capacity); "
                 f"yield {dollars(per_unit)} ARR per unit; {dollars(row.arr_at_risk)} at risk ({row.at_risk_share_pct:g}% of the "
                 f"territory's), {dollars(save)} to save it"),
            facts={"arr": row.arr, "arr_at_risk": row.arr_at_risk, "save_costs": save, "accounts": row.accounts,
                   "critical_accounts": row.critical_accounts, "health": row.health, "load_units": row.load_units,
                   "capacity_pct": row.capacity_pct, "arr_per_unit": per_unit, "at_risk_share_pct": row.at_risk_share_pct}))
    unowned = [AgendaItem(kind="account", ref_id=a, title=f"{accounts[a].name}: no {settings.owner_role.value}", account_id=a,
                          why="not covered: nobody owns it", facts={"arr": accounts[a].arr}) for a in health.unowned]
    proposals = [AgendaItem(kind="territory_proposal", ref_id=p.id, title=p.summary, owner_ids=[p.concentrated_on],
                            why=f"risk concentrates on {p.concentrated_on}; proposed by {p.created_by}",
                            facts={"moves": [m.account_id for m in p.moves]})
                 for p in list_proposals(session, TerritoryProposalStatus.proposed).items
                 if any(m.account_id in accounts for m in p.moves)]
    return {
        "scoring": f"Per {settings.owner_role.value}: the territory P&L (ARR, ARR at risk, the save costs of its at-risk accounts) "
                   f"and headcount yield (ARR per load unit; a healthy account is 1 unit, an at-risk one {settings.save_units}, "
                   f"capacity {settings.capacity_units}); the fullest book first. Coverage: accounts nobody owns.",
        "summary": f"{health.explanation}; coverage {health.coverage_pct:g}%; {len(proposals)} rebalance proposal(s) open."
                   if health.coverage_pct is not None else f"{health.explanation}; {len(proposals)} rebalance proposal(s) open.",
        "sections": [AgendaSection(key="owners", title="Territory P&L and headcount yield per owner",
                                   items=sorted(items, key=lambda i: (-i.score, -i.facts["arr_at_risk"], i.ref_id))),
                     AgendaSection(key="coverage", title="Coverage: accounts without an owner", items=unowned),
                     AgendaSection(key="rebalance", title="Open territory rebalance proposals", items=proposals)],
    }


# --- quarterly: business review -------------------------------------------------------------------------------


def _nrr_items(lines: list[Book], book_arr: float) -> list[AgendaItem]:
    """The book's NRR if every at-risk account is lost, and as expected (each account's ARR × its tier's churn rate)."""
    at_risk = [line for line in lines if line.money and line.money.arr_at_risk]
    worst = nrr_scenario(book_arr, [LostAccount(id=line.account.id, arr=line.account.arr, risk_tier=line.money.risk_tier) for line in at_risk])
    expected_loss = sum(line.money.expected_loss for line in lines if line.money)
    expected = round(100 * (book_arr - expected_loss) / book_arr, 2) if book_arr else 0.0
    return [
        AgendaItem(kind="scenario", ref_id="nrr-if-at-risk-lost", title=f"NRR {worst.nrr_if_lost_pct:g}% if the at-risk book is lost",
                   score=worst.nrr_if_lost_pct, why=worst.explanation if at_risk else "no account is at risk",
                   facts={"nrr_pct": worst.nrr_if_lost_pct, "nrr_impact_points": worst.nrr_impact_points, "lost_arr": worst.lost_arr,
                          "book_arr": book_arr, "accounts": [a.id for a in worst.accounts]}),
        AgendaItem(kind="scenario", ref_id="nrr-expected", title=f"NRR {expected:g}% expected",
                   score=expected, why=f"{dollars(expected_loss)} expected loss (each account's ARR × its tier's churn probability) "
                                       f"of {dollars(book_arr)}",
                   facts={"nrr_pct": expected, "expected_loss": expected_loss, "book_arr": book_arr}),
    ]


def build_business_review(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    lines, book_arr = _book(session, accounts)
    tiers = []
    for tier in reversed(RiskTier):
        mine = [line for line in lines if line.money and line.money.risk_tier == tier]
        if not mine:
            continue
        saves = [line for line in mine if line.money.recommendation == "save"]
        cost, protected = sum(line.money.cost_to_save for line in saves), sum(line.money.arr_at_risk for line in saves)
        ratio = round(protected / cost, 1) if cost else 0.0
        tiers.append(AgendaItem(
            kind="investment", ref_id=f"tier-{tier.value}",
            title=f"{tier.value}: {len(mine)} account(s), {dollars(sum(line.account.arr for line in mine))} ARR",
            score=ratio, why=(f"{dollars(cost)} of saves protects {dollars(protected)} ARR ({ratio:g}× return) on {len(saves)} account(s)"
                              if saves else "no save recommended: monitor"),
            facts={"tier": tier.value, "accounts": [line.account.id for line in mine], "save_costs": cost, "arr_protected": protected,
                   "return": ratio}))
    unscored = sum(1 for line in lines if line.money is None)
    nrr = _nrr_items(lines, book_arr)
    return {
        "scoring": "Board-ready: the book's NRR projection (all at-risk ARR lost; expected loss at the cost model's churn "
                   "probabilities), and the investment allocation per risk tier: the save costs recommended against the ARR they "
                   "protect, highest tier first.",
        "summary": f"{nrr[0].title}; {nrr[1].title}; {dollars(sum(i.facts['save_costs'] for i in tiers))} of saves protect "
                   f"{dollars(sum(i.facts['arr_protected'] for i in tiers))} ARR" + (f"; {unscored} account(s) not scored yet." if unscored else "."),
        "sections": [AgendaSection(key="nrr_projection", title="NRR projection", items=nrr),
                     AgendaSection(key="investment", title="Investment allocation by risk tier", items=tiers)],
    }


# --- Monday: the CRO's board prep ---------------------------------------------------------------------------


def build_board_prep(session: Session, start: RitualStart, as_of: datetime, accounts: dict[str, Account]) -> dict:
    lines, book_arr = _book(session, accounts)
    plays = _running_plays(session, list(accounts))
    at_risk = sorted((line for line in lines if line.money and line.money.arr_at_risk),
                     key=lambda line: (-line.risk, -line.account.arr, line.account.id))
    risks = []
    for line in at_risk[: start.ritual.limit]:
        running = plays.get(line.account.id, [])
        play = ", ".join(p["play_key"] for p in running) or "no save play running"
        risks.append(AgendaItem(
            kind="account", ref_id=line.account.id, account_id=line.account.id, owner_ids=_owners_of(line.account), score=line.risk,
            title=f"{line.account.name}: {line.money.risk_tier.value} renewal risk {line.risk:g}, NRR −{line.money.nrr_impact.nrr_impact_points:g} points",
            why=f"{line.money.nrr_impact.explanation}; {line.money.explanation}; save play: {play}",
            facts={**_money_facts(line), "active_plays": running}))
    deals = _open_deals(session, accounts, as_of)
    confidence = {line.account.id: line.forecast_confidence for line in lines if line.money}
    forecast = []
    for account, opportunity in deals:
        amount = opportunity.amount if opportunity.amount is not None else account.arr
        sure = confidence.get(account.id, 0.0)
        forecast.append(AgendaItem(
            kind="opportunity", ref_id=opportunity.id, account_id=account.id, score=sure,
            title=f"{account.name}: {opportunity.type} at {opportunity.stage}, {dollars(amount)}",
            why=f"forecast confidence {sure:g}% → {dollars(amount * sure / 100)} evidence-weighted",
            facts={"stage": opportunity.stage, "amount": amount, "weighted_amount": round(amount * sure / 100, 2)}))
    forecast.sort(key=lambda i: (-i.facts["amount"], i.ref_id))
    nrr = _nrr_items(lines, book_arr)
    return {
        "scoring": f"The NRR impact of the at-risk book (the whole book's ARR, Layer III); the top {start.ritual.limit} risks by "
                   "renewal risk, ties by ARR, each with its NRR impact, save vs replace and the save play running; the forecast "
                   "as each open deal's amount × its account's forecast confidence, largest first.",
        "summary": f"{nrr[0].title} (−{nrr[0].facts['nrr_impact_points']:g} points over {len(at_risk)} account(s)); "
                   f"forecast {dollars(sum(i.facts['amount'] for i in forecast))} open, "
                   f"{dollars(sum(i.facts['weighted_amount'] for i in forecast))} evidence-weighted.",
        "sections": [AgendaSection(key="nrr_impact", title="NRR impact of the at-risk book", items=nrr),
                     AgendaSection(key="top_risks", title=f"Top {start.ritual.limit} risks and their save plays", items=risks),
                     AgendaSection(key="forecast", title="Forecast", items=forecast)],
    }
