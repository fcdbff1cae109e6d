"""Layer I as pure functions: motion thresholds, dedup windows, the cross-sell watermark, the reference week."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from models.detection import SignalDefinitions, SignalDefinitionsIn
from models.scoring import ScoreWeightsIn
from services.detection import dedup_window, detect
from services.layer_config import DEFAULT_SIGNAL_DEFINITIONS
from services.scoring import compute_scores
from tests.support.events import BASELINE_END, RENEWAL_DATE, SCENARIO_END, T0, as_stored, bad_week, baseline, watermark_events

DEFINITIONS = SignalDefinitions.model_validate({**DEFAULT_SIGNAL_DEFINITIONS, "version": 1})
WEIGHTS = ScoreWeightsIn()


def fired(raw_events, as_of, motion=None, open_risk_signals=0, definitions=DEFINITIONS):
    score, facts = compute_scores("a", None, as_stored(raw_events), as_of, WEIGHTS, 1)
    return {d.family: d for d in detect("a", motion, facts, score, WEIGHTS.windows, definitions, open_risk_signals)}


def last_use(days_ago: int):
    at = BASELINE_END - timedelta(days=days_ago)
    return [{"kind": "product_usage", "account_id": "a", "occurred_at": at.isoformat(), "active_users": 50}], BASELINE_END


@pytest.mark.parametrize(
    ("motion", "quiet_days", "fires"),
    [("academic", 44, False), ("academic", 45, True), ("credentialed", 9, False), ("credentialed", 10, True),
     (None, 29, False), (None, 30, True)],
)
def test_adoption_decay_waits_for_the_motions_own_threshold(motion, quiet_days, fires):
    events, as_of = last_use(quiet_days)
    found = fired(events, as_of, motion)
    assert ("adoption_decay" in found) is fires
    if fires:
        expected = {"academic": 45, "credentialed": 10, None: 30}[motion]
        assert found["adoption_decay"].thresholds == {"inactive_days": expected}
        assert found["adoption_decay"].measured == {"inactive_days": quiet_days}
        assert found["adoption_decay"].evidence_event_ids == [as_stored(events)[0].id]


def test_the_same_condition_in_the_same_window_has_one_key_and_the_next_window_another():
    window = timedelta(days=30)
    key, start = dedup_window("adoption_decay", "a", T0, window)
    assert start <= T0 < start + window
    assert dedup_window("adoption_decay", "a", start + window - timedelta(seconds=1), window)[0] == key
    assert dedup_window("adoption_decay", "a", start + window, window)[0] != key
    assert dedup_window("adoption_decay", "b", T0, window)[0] != key
    assert dedup_window("nps_decline", "a", T0, window)[0] != key


def test_the_reference_week_fires_renewal_risk_champion_departed_and_nps_decline_once_each():
    assert fired(baseline("a"), BASELINE_END) == {}
    found = fired(baseline("a") + bad_week("a"), SCENARIO_END, motion="academic")
    assert set(found) == {"renewal_risk", "champion_departed", "nps_decline"}
    risk = found["renewal_risk"]
    assert risk.severity == "critical" and risk.play_key == "renewal_save" and risk.evidence_event_ids


def test_the_cross_sell_watermark_needs_all_four_conditions():
    found = fired(watermark_events(), BASELINE_END)
    assert set(found) == {"cross_sell_watermark"}
    mark = found["cross_sell_watermark"]
    assert mark.severity == "info" and mark.play_key == "cross_sell"
    assert mark.measured == {"adjacent_program_present": 1, "program_adoption_pct": 45, "contract_years": 3, "active_risk_signals": 0}
    assert len(mark.evidence_event_ids) == 3

    assert "cross_sell_watermark" not in fired(watermark_events(adoption=390), BASELINE_END)
    assert "cross_sell_watermark" not in fired(watermark_events(contract_years=1), BASELINE_END)
    assert "cross_sell_watermark" not in fired(watermark_events(adjacent="motion_a"), BASELINE_END)
    assert "cross_sell_watermark" not in fired(watermark_events(), BASELINE_END, open_risk_signals=1)
    champion_left = {"kind": "contact_change", "account_id": "a", "occurred_at": BASELINE_END.isoformat(), "contact_id": "c",
                     "role": "champion", "change": "left"}
    assert set(fired(watermark_events() + [champion_left], BASELINE_END)) == {"champion_departed"}


def test_definitions_are_validated():
    bad_override = {**DEFAULT_SIGNAL_DEFINITIONS}
    bad_override["definitions"] = [{**DEFAULT_SIGNAL_DEFINITIONS["definitions"][2], "motion_overrides": {"academic": {"nps_drop": 3}}}]
    with pytest.raises(ValidationError, match="without a condition: nps_drop"):
        SignalDefinitionsIn.model_validate(bad_override)
    with pytest.raises(ValidationError, match="two definitions for family renewal_risk"):
        SignalDefinitionsIn.model_validate({"definitions": DEFAULT_SIGNAL_DEFINITIONS["definitions"][:1] * 2})
    with pytest.raises(ValidationError, match="metric"):
        SignalDefinitionsIn.model_validate({"definitions": [{**DEFAULT_SIGNAL_DEFINITIONS["definitions"][0],
                                                             "conditions": [{"metric": "vibes", "op": "gte", "value": 1}]}]})


def test_a_detected_signal_says_why_in_the_scores_own_words_not_in_internal_measures():
    score, facts = compute_scores("a", RENEWAL_DATE, as_stored(baseline("a") + bad_week("a")), SCENARIO_END, WEIGHTS, 1)
    found = {d.family: d.evidence() for d in detect("a", "academic", facts, score, WEIGHTS.windows, DEFINITIONS)}
    assert found["renewal_risk"]["why"] == (
        "renewal risk 90 (critical): health 28 of 100 (+72), renewal in 90 days (+10), NPS detractor (3) (+8) — "
        "health 28: usage down 35% vs the prior 30 days (−14), champion left (−12), NPS 8 → 3 (−8), "
        "support tickets ×3 in 30 days (3 vs 1) (−8)")
    assert found["champion_departed"]["why"] == "champion left (health −12)"
    assert found["nps_decline"]["why"] == "NPS 8 → 3 (health −8)"
    assert not any("rank" in e["why"] or "±0" in e["why"] for e in found.values())

    watermark = fired(watermark_events(), BASELINE_END)["cross_sell_watermark"]
    assert watermark.why == "a contact in motion_b; motion_a adoption 45%; a 3-year contract; no open risk signal"


def test_components_that_contribute_nothing_are_left_out_of_explanations():
    score, _ = compute_scores("a", RENEWAL_DATE, as_stored(baseline("a") + bad_week("a")), SCENARIO_END, WEIGHTS, 1)
    labels = [c.label for c in score.health.components]
    assert "no product use for 0 days" in labels  # computed and kept, for the record
    assert [c.label for c in score.health.moving()] == ["usage down 35% vs the prior 30 days", "champion left", "NPS 8 → 3",
                                                         "support tickets ×3 in 30 days (3 vs 1)"]
    assert [c.key for c in score.renewal_risk.moving()] == ["health_gap", "renewal_window", "detractor"]
