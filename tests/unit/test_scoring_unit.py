"""Layer II as pure functions: the reference scenario's numbers, explanations, evidence and determinism."""

from datetime import date, timedelta

from models.financials import CostModelIn
from models.scoring import RiskTier, ScoreWeightsIn
from services.financials import account_financials
from services.scoring import compute_scores
from tests.support.events import BASELINE_END, RENEWAL_DATE, SCENARIO_END, as_stored, bad_week, baseline


def score_at(events, as_of, weights=None, renewal=RENEWAL_DATE):
    return compute_scores("acme-ref", renewal, events, as_of, weights or ScoreWeightsIn(), 1)[0]


def test_a_steady_account_is_healthy_and_confident():
    score = score_at(as_stored(baseline("acme-ref")), BASELINE_END)
    assert score.health.value == 72
    assert score.renewal_risk.tier == RiskTier.low
    assert score.forecast_confidence.value == 82
    assert score.pipeline_quality.value == 100
    assert score.health.explanation == "health 72: NPS 8 (+2)"


def test_the_reference_week_takes_health_72_to_28_risk_low_to_critical_and_confidence_to_15_exactly():
    before = score_at(as_stored(baseline("acme-ref")), BASELINE_END)
    assert (before.health.value, before.renewal_risk.value, before.renewal_risk.tier) == (72, 28, RiskTier.low)
    assert before.renewal_risk.explanation == "renewal risk 28 (low): health 72 of 100 (+28)"  # renewal 97 days out: not yet near
    events = as_stored(baseline("acme-ref") + bad_week("acme-ref"))
    score = score_at(events, SCENARIO_END)
    assert score.health.value == 28
    assert score.health.explanation == (
        "health 28: usage down 35% vs the prior 30 days (−14), champion left (−12), NPS 8 → 3 (−8), "
        "support tickets ×3 in 30 days (3 vs 1) (−8)"
    )
    assert (score.renewal_risk.value, score.renewal_risk.tier) == (90, RiskTier.critical)
    assert score.renewal_risk.explanation == "renewal risk 90 (critical): health 28 of 100 (+72), renewal in 90 days (+10), NPS detractor (3) (+8)"
    assert score.forecast_confidence.value == 15
    assert score.forecast_confidence.explanation == (
        "forecast confidence 15%: renewal with no open opportunity (+80), health 28 (−42), champion left (−15), NPS detractor (3) (−8)"
    )


def test_the_same_week_is_critical_even_with_the_renewal_over_a_year_out():
    events = as_stored(baseline("acme-ref") + bad_week("acme-ref"))
    far = score_at(events, SCENARIO_END, renewal=date(2027, 3, 31))
    assert (far.health.value, far.renewal_risk.value, far.renewal_risk.tier) == (28, 80, RiskTier.critical)
    assert far.forecast_confidence.value == 15


def test_every_component_carries_value_weight_contribution_and_evidence_that_add_up():
    events = as_stored(baseline("acme-ref") + bad_week("acme-ref"))
    score = score_at(events, SCENARIO_END)
    ids = {e.id for e in events}
    for s in (score.health, score.renewal_risk, score.forecast_confidence, score.pipeline_quality):
        assert s.value == round(min(100, max(0, s.base + sum(c.contribution for c in s.components))), 1)
        for c in s.components:
            assert set(c.evidence) <= ids
    components = {c.key: c for c in score.health.components}
    assert components["usage_trend"].value == -35 and components["usage_trend"].weight == 0.4
    assert components["usage_trend"].contribution == -14
    champion_left = next(e for e in events if e.payload.get("change") == "role_changed")
    assert components["champion"].evidence == [champion_left.id]
    assert len(components["support_tickets"].evidence) == 4


def test_scores_are_deterministic_and_follow_the_weights():
    events = as_stored(baseline("acme-ref") + bad_week("acme-ref"))
    assert score_at(events, SCENARIO_END) == score_at(list(reversed(events)), SCENARIO_END)
    heavier = ScoreWeightsIn.model_validate({"health": {"champion_departed": -30}})
    assert score_at(events, SCENARIO_END, heavier).health.value == score_at(events, SCENARIO_END).health.value - 18


def test_events_after_the_score_time_are_not_read():
    events = as_stored(baseline("acme-ref") + bad_week("acme-ref"))
    assert score_at(events, BASELINE_END) == score_at(as_stored(baseline("acme-ref")), BASELINE_END)


def test_pipeline_hygiene_and_close_date_drift_lower_pipeline_quality_and_confidence():
    at = BASELINE_END
    deal = [
        {"kind": "crm_stage_change", "account_id": "a", "occurred_at": (at - timedelta(days=50)).isoformat(), "opportunity_id": "o1",
         "stage": "negotiation", "amount": 90000, "close_date": "2026-02-01"},
        {"kind": "crm_stage_change", "account_id": "a", "occurred_at": (at - timedelta(days=40)).isoformat(), "opportunity_id": "o1",
         "stage": "negotiation", "close_date": "2026-03-01"},
        {"kind": "crm_stage_change", "account_id": "a", "occurred_at": (at - timedelta(days=35)).isoformat(), "opportunity_id": "o1",
         "stage": "negotiation", "close_date": "2026-04-01"},
    ]
    score = score_at(as_stored(deal), at)
    assert score.pipeline_quality.value == 100 - 30 - 20
    assert "1 deal(s) stalled 30+ days (−30)" in score.pipeline_quality.explanation
    stage = next(c for c in score.forecast_confidence.components if c.key == "stage")
    assert stage.value == "negotiation" and stage.contribution == 60


def test_save_14k_against_replace_54k_for_the_180k_account():
    money = account_financials("acme-ref", 180_000, RiskTier.critical, 90, CostModelIn(), 1, book_arr=1_000_000)
    assert money.cost_to_save == 14_000 and money.cost_to_replace == 54_000
    assert money.arr_at_risk == 180_000 and money.recommendation == "save"
    assert money.nrr_impact.nrr_if_lost_pct == 82 and money.nrr_impact.nrr_impact_points == 18
    assert "save $14K (csm escalation + executive engagement) vs replace $54K" in money.explanation
