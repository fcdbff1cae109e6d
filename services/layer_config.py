"""The versioned config of Layers I–III: signal definitions, score weights, cost model, territory (and their shipped defaults)."""

from pydantic import BaseModel
from sqlmodel import Session

from core import config_store
from models.detection import SignalDefinitions, SignalDefinitionsIn
from models.financials import CostModel, CostModelIn
from models.scoring import ScoreWeights, ScoreWeightsIn
from models.territory import TerritoryConfig, TerritorySettings

SIGNAL_DEFINITIONS = "signal_definitions"
SCORE_WEIGHTS = "score_weights"
COST_MODEL = "cost_model"
TERRITORY = "territory"


def _definition(family, severity, description, conditions, window_days, overrides=None, play_key=None, phases=None,
                quiet=()):
    return {
        "family": family, "severity": severity, "description": description,
        "conditions": [{"metric": m, "op": op, "value": v} for m, op, v in conditions],
        "dedup_window": f"P{window_days}D", "motion_overrides": overrides or {}, "play_key": play_key,
        "phase_overrides": phases or {}, "quiet_phases": list(quiet),
    }


DEFAULT_SIGNAL_DEFINITIONS = {
    "definitions": [
        _definition("renewal_risk", "critical", "renewal risk reached the critical tier",
                    [("renewal_risk_tier_rank", "gte", 4)], 30, play_key="renewal_save"),
        _definition("champion_departed", "critical", "the champion left or changed roles",
                    [("champion_departed", "gte", 1)], 90),
        _definition("adoption_decay", "warning", "no product use for too long for the account's buying cycle",
                    [("inactive_days", "gte", 30)], 30,
                    overrides={"academic": {"inactive_days": 45}, "credentialed": {"inactive_days": 10}},
                    # the academic calendar: exam weeks are quiet for a while, summer break is no signal at all
                    phases={"exams": {"inactive_days": 60}}, quiet=["summer_break"]),
        _definition("nps_decline", "info", "NPS fell 3 points or more since the previous response",
                    [("nps_drop", "gte", 3)], 30),
        _definition("expansion_trigger", "warning", "usage grew 25% or more on a healthy account",
                    [("usage_change_pct", "gte", 25), ("health", "gte", 60)], 30, play_key="expansion"),
        _definition("stalled_deal", "warning", "pipeline hygiene: an open deal has not changed stage in 30 days",
                    [("stalled_deals", "gte", 1)], 14, play_key="deal_rescue"),
        _definition("close_date_drift", "warning", "forecast confidence: a deal's close date was pushed twice or more",
                    [("close_date_pushes", "gte", 2)], 30, play_key="deal_rescue"),
        _definition("cross_sell_watermark", "info",
                    "adjacent program present, motion-A adoption ≥ 40%, multi-year contract, no active risk signal",
                    [("adjacent_program_present", "gte", 1), ("program_adoption_pct", "gte", 40), ("contract_years", "gte", 2),
                     ("active_risk_signals", "lte", 0)], 90, play_key="cross_sell"),
    ],
}

_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel], dict]] = {
    SIGNAL_DEFINITIONS: (SignalDefinitionsIn, SignalDefinitions, DEFAULT_SIGNAL_DEFINITIONS),
    SCORE_WEIGHTS: (ScoreWeightsIn, ScoreWeights, {}),
    COST_MODEL: (CostModelIn, CostModel, {}),
    TERRITORY: (TerritorySettings, TerritoryConfig, {}),
}


def load_defaults(session: Session) -> None:
    """Version 1 of each kind that has none yet (an edited config is never overwritten)."""
    for kind, (model_in, _, default) in _MODELS.items():
        config_store.seed(session, kind, model_in.model_validate(default).model_dump(mode="json"))


def _current(session: Session, kind: str):
    _, model, default = _MODELS[kind]
    return config_store.current(session, kind, model, default)


def current_definitions(session: Session) -> SignalDefinitions:
    return _current(session, SIGNAL_DEFINITIONS)


def current_weights(session: Session) -> ScoreWeights:
    return _current(session, SCORE_WEIGHTS)


def current_cost_model(session: Session) -> CostModel:
    return _current(session, COST_MODEL)


def current_territory(session: Session) -> TerritoryConfig:
    return _current(session, TERRITORY)


