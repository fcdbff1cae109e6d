"""Layer II: deterministic, explainable scores from an account's events. Pure functions (no I/O, no clock)."""

import math
from collections import defaultdict
from datetime import date, datetime

from models.events import EventKind, StoredEvent
from models.scoring import (
    AccountScore,
    Facts,
    ForecastWeights,
    HealthWeights,
    Opportunity,
    PipelineWeights,
    RenewalRiskScore,
    RiskWeights,
    Score,
    ScoreComponent,
    ScoreWeightsIn,
    Windows,
)

DAY = 86400.0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _days(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / DAY, 2)


def facts_from(events: list[StoredEvent], as_of: datetime, windows: Windows) -> Facts:
    """Everything the scores and signal definitions read, measured at `as_of` from events up to it."""
    seen = sorted((e for e in events if e.occurred_at <= as_of), key=lambda e: (e.occurred_at, e.id))
    by_kind: dict[EventKind, list[StoredEvent]] = defaultdict(list)
    for event in seen:
        by_kind[event.kind].append(event)
    facts = Facts(as_of=as_of)
    _usage(facts, by_kind[EventKind.product_usage], windows)
    _champion(facts, by_kind[EventKind.contact_change], windows)
    _contacts_by_program(facts, by_kind[EventKind.contact_change])
    _nps(facts, by_kind[EventKind.nps_response])
    _tickets(facts, by_kind[EventKind.support_ticket], windows)
    _opportunities(facts, by_kind[EventKind.crm_stage_change])
    return facts


def _usage(facts: Facts, usage: list[StoredEvent], windows: Windows) -> None:
    recent_start = facts.as_of - windows.usage_recent
    baseline_start = recent_start - windows.usage_baseline
    recent = [e for e in usage if e.occurred_at > recent_start]
    baseline = [e for e in usage if baseline_start < e.occurred_at <= recent_start]
    facts.usage_recent = _mean([e.payload["active_users"] for e in recent])
    facts.usage_baseline = _mean([e.payload["active_users"] for e in baseline])
    if facts.usage_recent is not None and facts.usage_baseline:
        facts.usage_change_pct = round((facts.usage_recent / facts.usage_baseline - 1) * 100, 1)
        facts.usage_evidence = [e.id for e in baseline + recent]
    active = [e for e in usage if e.payload["active_users"] > 0]
    last = active[-1] if active else (usage[0] if usage else None)
    if last is not None:
        facts.inactive_days = _days(facts.as_of, last.occurred_at)
        facts.inactivity_evidence = [last.id]
    for event in usage:
        if event.payload.get("program") and event.payload.get("seats"):
            program = event.payload["program"]
            facts.program_adoption[program] = round(event.payload["active_users"] / event.payload["seats"], 4)
            facts.program_evidence[program] = [event.id]


def _champion(facts: Facts, contacts: list[StoredEvent], windows: Windows) -> None:
    """A champion who left or changed roles within the lookback, with no new champion since."""
    since = facts.as_of - windows.champion_lookback
    departed: list[StoredEvent] = []
    for event in (e for e in contacts if e.payload["role"] == "champion"):
        if event.payload["change"] == "joined":
            departed = []
        elif event.occurred_at > since:
            departed.append(event)
    facts.champion_departed = bool(departed)
    facts.champion_evidence = [e.id for e in departed]


def _contacts_by_program(facts: Facts, contacts: list[StoredEvent]) -> None:
    latest: dict[str, StoredEvent] = {}
    for event in contacts:
        latest[event.payload["contact_id"]] = event
    for event in latest.values():
        if event.payload.get("program") and event.payload["change"] != "left":
            facts.contact_programs.setdefault(event.payload["program"], []).append(event.id)


def _nps(facts: Facts, responses: list[StoredEvent]) -> None:
    if responses:
        facts.nps_latest = responses[-1].payload["score"]
        facts.nps_evidence = [e.id for e in responses[-2:]]
    if len(responses) > 1:
        facts.nps_previous = responses[-2].payload["score"]


def _tickets(facts: Facts, tickets: list[StoredEvent], windows: Windows) -> None:
    opened = [e for e in tickets if e.payload.get("status", "opened") == "opened"]
    recent_start = facts.as_of - windows.tickets
    prior_start = recent_start - windows.tickets
    recent = [e for e in opened if e.occurred_at > recent_start]
    prior = [e for e in opened if prior_start < e.occurred_at <= recent_start]
    facts.tickets_recent, facts.tickets_prior = len(recent), len(prior)
    facts.tickets_evidence = [e.id for e in prior + recent]


def _opportunities(facts: Facts, changes: list[StoredEvent]) -> None:
    opportunities: dict[str, Opportunity] = {}
    for event in changes:
        p = event.payload
        opportunity = opportunities.get(p["opportunity_id"])
        if opportunity is None:
            opportunity = Opportunity(id=p["opportunity_id"], type=p.get("opportunity_type", "renewal"), stage=p["stage"],
                                      last_change_at=event.occurred_at)
            opportunities[opportunity.id] = opportunity
        elif p["stage"] != opportunity.stage:
            opportunity.stage, opportunity.last_change_at = p["stage"], event.occurred_at
        if p.get("close_date"):
            if opportunity.close_date and p["close_date"] > opportunity.close_date:
                opportunity.close_date_pushes += 1
            opportunity.close_date = p["close_date"]
        if p.get("amount") is not None:
            opportunity.amount = p["amount"]
        opportunity.evidence.append(event.id)
        if p.get("contract_years"):
            facts.contract_years, facts.contract_evidence = p["contract_years"], [event.id]
    for opportunity in opportunities.values():
        opportunity.stalled_days = _days(facts.as_of, opportunity.last_change_at) if opportunity.open else 0
    facts.opportunities = list(opportunities.values())


# --- scores -------------------------------------------------------------------------------------------


def _half_up(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def signed_points(value: float) -> str:
    points = _half_up(value)
    return f"+{points}" if points > 0 else f"−{-points}" if points < 0 else "±0"


def _clamp(value: float, low: float = 0, high: float = 100) -> float:
    return round(min(high, max(low, value)), 1)


def _score(name: str, base: float, components: list[ScoreComponent], unit: str = "") -> Score:
    score = Score(name=name, value=_clamp(base + sum(c.contribution for c in components)), base=base, components=components,
                  explanation="")
    reasons = ", ".join(said(c) for c in score.moving()) or "nothing moves it"
    return score.model_copy(update={"explanation": f"{name.replace('_', ' ')} {_half_up(score.value)}{unit}: {reasons}"})


def said(component: ScoreComponent, score_name: str = "") -> str:
    """`champion left (−12)`, or `champion left (health −12)` when said outside its score's own sentence."""
    points = f"{score_name.replace('_', ' ')} {signed_points(component.contribution)}".strip()
    return f"{component.label} ({points})" if component.moves else component.label


def _component(key: str, label: str, value, weight: float, contribution: float, evidence: list[str] | None = None):
    return ScoreComponent(key=key, label=label, value=value, weight=weight, contribution=round(contribution, 2), evidence=evidence or [])


def health_score(facts: Facts, w: HealthWeights) -> Score:
    parts = []
    pct = facts.usage_change_pct
    if pct is None:
        parts.append(_component("usage_trend", "no usage baseline yet", None, w.usage_points_per_pct, 0))
    else:
        trend = "down" if pct < 0 else "up"
        contribution = max(-w.usage_cap, min(w.usage_cap, w.usage_points_per_pct * pct))
        parts.append(_component("usage_trend", f"usage {trend} {abs(_half_up(pct))}% vs the prior 30 days", pct,
                                w.usage_points_per_pct, contribution, facts.usage_evidence))
    parts.append(_component("champion", "champion left" if facts.champion_departed else "champion in place",
                            facts.champion_departed, w.champion_departed,
                            w.champion_departed if facts.champion_departed else 0, facts.champion_evidence))
    if facts.nps_latest is None:
        parts.append(_component("nps", "no NPS response", None, w.nps_points_per_step, 0))
    else:
        label = f"NPS {facts.nps_previous} → {facts.nps_latest}" if facts.nps_previous is not None else f"NPS {facts.nps_latest}"
        parts.append(_component("nps", label, facts.nps_latest, w.nps_points_per_step,
                                (facts.nps_latest - w.nps_neutral) * w.nps_points_per_step, facts.nps_evidence))
    multiple = facts.ticket_multiple
    tickets = max(-w.tickets_cap, w.tickets_points_per_multiple * (multiple - 1)) if multiple > 1 else 0
    parts.append(_component("support_tickets", f"support tickets ×{multiple:g} in 30 days ({facts.tickets_recent} vs {facts.tickets_prior})",
                            round(multiple, 2), w.tickets_points_per_multiple, tickets, facts.tickets_evidence))
    idle = facts.inactive_days
    inactivity = max(-w.inactivity_cap, w.inactivity_points_per_day * (idle - w.inactivity_grace_days)) if idle and idle > w.inactivity_grace_days else 0
    parts.append(_component("inactivity", f"no product use for {_half_up(idle or 0)} days", idle, w.inactivity_points_per_day,
                            inactivity, facts.inactivity_evidence))
    return _score("health", w.base, parts)


def renewal_risk_score(facts: Facts, health: Score, renewal_date: date | None, w: RiskWeights) -> RenewalRiskScore:
    gap = 100 - health.value
    evidence = sorted({e for c in health.components for e in c.evidence})
    parts = [_component("health_gap", f"health {_half_up(health.value)} of 100", round(gap, 1), w.health_gap, w.health_gap * gap, evidence)]
    days = (renewal_date - facts.as_of.date()).days if renewal_date else None
    near = days is not None and 0 <= days <= w.renewal_window_days
    parts.append(_component("renewal_window", f"renewal in {days} days" if days is not None else "no renewal date", days,
                            w.renewal_window_points, w.renewal_window_points if near else 0))
    detractor = facts.nps_latest is not None and facts.nps_latest < w.detractor_below
    parts.append(_component("detractor", f"NPS detractor ({facts.nps_latest})" if detractor else "no NPS detractor",
                            facts.nps_latest, w.detractor_points, w.detractor_points if detractor else 0,
                            facts.nps_evidence[-1:] if detractor else []))
    score = _score("renewal_risk", 0, parts)
    tier = w.tier(score.value)
    return RenewalRiskScore(**score.model_dump(), tier=tier).model_copy(
        update={"explanation": score.explanation.replace(":", f" ({tier.value}):", 1)}
    )


def _forecast_opportunity(facts: Facts) -> Opportunity | None:
    open_ones = facts.open_opportunities()
    renewals = [o for o in open_ones if o.type == "renewal"]
    return (renewals or open_ones or [None])[-1]


def forecast_confidence_score(facts: Facts, health: Score, w: ForecastWeights, risk: RiskWeights, windows: Windows) -> Score:
    opportunity = _forecast_opportunity(facts)
    if opportunity is None:
        parts = [_component("stage", "renewal with no open opportunity", None, 1, w.renewal_without_opportunity)]
    else:
        probability = w.stage_probability.get(opportunity.stage, 0)
        parts = [_component("stage", f"{opportunity.type} at {opportunity.stage}", opportunity.stage, 1, probability, opportunity.evidence)]
    parts.append(_component("health", f"health {_half_up(health.value)}", health.value, w.health_points_per_point,
                            w.health_points_per_point * (health.value - w.health_pivot)))
    parts.append(_component("champion", "champion left" if facts.champion_departed else "champion in place", facts.champion_departed,
                            w.champion_departed, w.champion_departed if facts.champion_departed else 0, facts.champion_evidence))
    detractor = facts.nps_latest is not None and facts.nps_latest < risk.detractor_below
    parts.append(_component("detractor", f"NPS detractor ({facts.nps_latest})" if detractor else "no NPS detractor", facts.nps_latest,
                            w.detractor, w.detractor if detractor else 0, facts.nps_evidence[-1:] if detractor else []))
    pushes = opportunity.close_date_pushes if opportunity else 0
    parts.append(_component("close_date_drift", f"close date pushed {pushes}×", pushes, w.close_date_push, w.close_date_push * pushes,
                            opportunity.evidence if pushes else []))
    stalled = bool(opportunity) and opportunity.stalled_days >= windows.stall_after.total_seconds() / DAY
    parts.append(_component("stalled", f"no stage change for {_half_up(opportunity.stalled_days)} days" if stalled else "moving",
                            opportunity.stalled_days if opportunity else None, w.stalled, w.stalled if stalled else 0,
                            opportunity.evidence[-1:] if stalled else []))
    return _score("forecast_confidence", 0, parts, unit="%")


def pipeline_quality_score(facts: Facts, w: PipelineWeights, windows: Windows) -> Score:
    open_ones = facts.open_opportunities()
    stall_days = windows.stall_after.total_seconds() / DAY
    stalled = [o for o in open_ones if o.stalled_days >= stall_days]
    pushed = [o for o in open_ones if o.close_date_pushes]
    no_amount = [o for o in open_ones if o.amount is None]
    pushes = sum(o.close_date_pushes for o in pushed)
    parts = [
        _component("stalled", f"{len(stalled)} deal(s) stalled {_half_up(stall_days)}+ days", len(stalled), w.stalled,
                   w.stalled * len(stalled), [o.evidence[-1] for o in stalled]),
        _component("close_date_drift", f"close dates pushed {pushes}×", pushes, w.close_date_push, w.close_date_push * pushes,
                   [e for o in pushed for e in o.evidence]),
        _component("missing_amount", f"{len(no_amount)} deal(s) without an amount", len(no_amount), w.missing_amount,
                   w.missing_amount * len(no_amount), [o.evidence[-1] for o in no_amount]),
    ]
    return _score("pipeline_quality", w.base, parts)


def compute_scores(
    account_id: str, renewal_date: date | None, events: list[StoredEvent], as_of: datetime, weights: ScoreWeightsIn, weights_version: int
) -> tuple[AccountScore, Facts]:
    """Every score for one account at `as_of`; the same events and weights always give the same answer."""
    facts = facts_from(events, as_of, weights.windows)
    health = health_score(facts, weights.health)
    risk = renewal_risk_score(facts, health, renewal_date, weights.renewal_risk)
    forecast = forecast_confidence_score(facts, health, weights.forecast_confidence, weights.renewal_risk, weights.windows)
    pipeline = pipeline_quality_score(facts, weights.pipeline_quality, weights.windows)
    score = AccountScore(
        account_id=account_id, as_of=as_of, weights_version=weights_version, health=health, renewal_risk=risk,
        forecast_confidence=forecast, pipeline_quality=pipeline,
        explanation="; ".join(s.explanation for s in (health, risk, forecast, pipeline)),
    )
    return score, facts
