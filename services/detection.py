"""Layer I: evaluate signal definitions against an account's facts and scores. Pure functions (no I/O, no clock)."""

from datetime import UTC, datetime, timedelta

from models.common import format_duration
from models.detection import Detection, Metric, SignalDefinition, SignalDefinitions
from models.scoring import TIER_RANK, AccountScore, Facts, Windows
from services.scoring import said

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dedup_window(family: str, account_id: str, at: datetime, window: timedelta) -> tuple[str, datetime]:
    """The dedup key of the window `at` falls in: the same condition in the same window opens one signal."""
    bucket = int((at - EPOCH).total_seconds() // window.total_seconds())
    return f"detect:{family}:{account_id}:{format_duration(window)}:{bucket}", EPOCH + bucket * window


def measure(facts: Facts, score: AccountScore, windows: Windows, definitions: SignalDefinitions) -> dict[Metric, float | None]:
    stall_days = windows.stall_after.total_seconds() / 86400
    open_ones = facts.open_opportunities()
    adoption = facts.program_adoption.get(definitions.cross_sell.from_program)
    return {
        Metric.inactive_days: facts.inactive_days,
        Metric.usage_change_pct: facts.usage_change_pct,
        Metric.champion_departed: float(facts.champion_departed),
        Metric.nps_latest: facts.nps_latest,
        Metric.nps_drop: facts.nps_drop if facts.nps_previous is not None else None,
        Metric.ticket_multiple: round(facts.ticket_multiple, 2),
        Metric.health: score.health.value,
        Metric.renewal_risk_score: score.renewal_risk.value,
        Metric.renewal_risk_tier_rank: TIER_RANK[score.renewal_risk.tier],
        Metric.forecast_confidence: score.forecast_confidence.value,
        Metric.pipeline_quality: score.pipeline_quality.value,
        Metric.stalled_deals: len([o for o in open_ones if o.stalled_days >= stall_days]),
        Metric.close_date_pushes: max((o.close_date_pushes for o in open_ones), default=0),
        Metric.adjacent_program_present: float(any(p in facts.contact_programs for p in definitions.cross_sell.adjacent_programs)),
        Metric.program_adoption_pct: round(adoption * 100, 1) if adoption is not None else None,
        Metric.contract_years: facts.contract_years,
        Metric.active_risk_signals: None,
    }


def _evidence(metric: Metric, facts: Facts, score: AccountScore, definitions: SignalDefinitions) -> list[str]:
    from_scores = {
        Metric.health: score.health, Metric.renewal_risk_score: score.renewal_risk, Metric.renewal_risk_tier_rank: score.renewal_risk,
        Metric.forecast_confidence: score.forecast_confidence, Metric.pipeline_quality: score.pipeline_quality,
    }
    if metric in from_scores:
        return [e for c in from_scores[metric].components for e in c.evidence]
    if metric in (Metric.stalled_deals, Metric.close_date_pushes):
        return [e for o in facts.open_opportunities() for e in o.evidence]
    if metric == Metric.adjacent_program_present:
        return [e for p in definitions.cross_sell.adjacent_programs for e in facts.contact_programs.get(p, [])]
    return {
        Metric.inactive_days: facts.inactivity_evidence, Metric.usage_change_pct: facts.usage_evidence,
        Metric.champion_departed: facts.champion_evidence, Metric.nps_latest: facts.nps_evidence, Metric.nps_drop: facts.nps_evidence,
        Metric.ticket_multiple: facts.tickets_evidence, Metric.contract_years: facts.contract_evidence,
        Metric.program_adoption_pct: facts.program_evidence.get(definitions.cross_sell.from_program, []),
    }.get(metric, [])


SCORED = {Metric.health: "health", Metric.renewal_risk_score: "renewal_risk", Metric.renewal_risk_tier_rank: "renewal_risk",
          Metric.forecast_confidence: "forecast_confidence", Metric.pipeline_quality: "pipeline_quality"}
PARTS = {  # a fact's metric → the score and component that say it in words
    Metric.usage_change_pct: ("health", "usage_trend"), Metric.inactive_days: ("health", "inactivity"),
    Metric.champion_departed: ("health", "champion"), Metric.nps_latest: ("health", "nps"), Metric.nps_drop: ("health", "nps"),
    Metric.ticket_multiple: ("health", "support_tickets"), Metric.stalled_deals: ("pipeline_quality", "stalled"),
    Metric.close_date_pushes: ("pipeline_quality", "close_date_drift"),
}


def _why(metric: Metric, value: float | None, facts: Facts, score: AccountScore, definitions: SignalDefinitions) -> str:
    """What a condition read, in the words a CSM reads: a score's own sentence (with health's, when health drives
    it), a score component with its points, or the fact itself; never the metric's internal name."""
    if metric in SCORED:
        scored = getattr(score, SCORED[metric])
        driven = scored is not score.health and any(c.key.startswith("health") and c.moves for c in scored.components)
        return f"{scored.explanation} — {score.health.explanation}" if driven else scored.explanation
    if metric in PARTS:
        scored = getattr(score, PARTS[metric][0])
        return said(next(c for c in scored.components if c.key == PARTS[metric][1]), scored.name)
    cross = definitions.cross_sell
    present = [p for p in cross.adjacent_programs if p in facts.contact_programs]
    return {
        Metric.adjacent_program_present: f"a contact in {', '.join(present)}" if present else "no contact in an adjacent program",
        Metric.program_adoption_pct: f"{cross.from_program} adoption {value:g}%" if value is not None else f"no {cross.from_program} use",
        Metric.contract_years: f"a {value:g}-year contract" if value else "no contract length",
        Metric.active_risk_signals: "no open risk signal" if not value else f"{value:g} open risk signal(s)",
    }[metric]


def _holds(definition: SignalDefinition, measured: dict[Metric, float | None], motion: str | None,
           phases: frozenset[str]) -> bool:
    return not definition.quiet_in(phases) and all(
        c.holds(measured[c.metric], definition.threshold(c, motion, phases)) for c in definition.conditions)


def _detection(definition, account_id, motion, phases, measured, facts, score, definitions) -> Detection:
    key, window_start = dedup_window(definition.family, account_id, facts.as_of, definition.dedup_window)
    evidence = []
    for condition in definition.conditions:
        evidence += [e for e in _evidence(condition.metric, facts, score, definitions) if e not in evidence]
    why = "; ".join(dict.fromkeys(_why(c.metric, measured[c.metric], facts, score, definitions) for c in definition.conditions))
    return Detection(
        family=definition.family, severity=definition.severity, account_id=account_id, dedup_key=key, window_start=window_start,
        measured={c.metric.value: measured[c.metric] for c in definition.conditions},
        thresholds={c.metric.value: definition.threshold(c, motion, phases) for c in definition.conditions},
        evidence_event_ids=evidence, definitions_version=definitions.version, play_key=definition.play_key, why=why,
    )


def detect(
    account_id: str, motion: str | None, facts: Facts, score: AccountScore, windows: Windows,
    definitions: SignalDefinitions, open_risk_signals: int = 0, phases: frozenset[str] = frozenset(),
) -> list[Detection]:
    """Definitions that hold now, with the thresholds of the calendar `phases` the account is in (a definition is
    quiet in its `quiet_phases`). Those that test `active_risk_signals` (the cross-sell watermark) go last and count
    both the risk signals already open on the account and the risk definitions that hold in this same evaluation."""
    measured = measure(facts, score, windows, definitions)
    composite = [d for d in definitions.definitions if any(c.metric == Metric.active_risk_signals for c in d.conditions)]
    simple = [d for d in definitions.definitions if d not in composite]
    fired = [d for d in simple if _holds(d, measured, motion, phases)]
    measured[Metric.active_risk_signals] = open_risk_signals + len([d for d in fired if d.family in definitions.risk_families])
    fired += [d for d in composite if _holds(d, measured, motion, phases)]
    return [_detection(d, account_id, motion, phases, measured, facts, score, definitions) for d in fired]
