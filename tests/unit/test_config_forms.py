"""The config pages' forms: every shipped config comes back unchanged through its form (nothing lost, rule fields the
form does not show included), blank and removed rows are left out, and refusals land next to the field they are about."""

import pytest
from pydantic import ValidationError

from api.pages.config_forms import FORMS, FormRefused, describe, field_errors, form_values, parse_form
from core.seed import DEFAULT_ROUTING
from models.calendars import DEFAULT_CALENDARS
from models.financials import CostModelIn
from models.scoring import ScoreWeightsIn
from models.territory import TerritorySettings
from services.account_calendars import DEFAULT_ACCOUNT_CALENDARS
from services.config_views import config_diff
from services.handoffs import DEFAULT_HANDOFF_SPECS
from services.layer_config import DEFAULT_SIGNAL_DEFINITIONS
from services.rituals import DEFAULT_RITUALS
from services.task_templates import DEFAULT_TASK_TEMPLATES

DEFAULTS = {
    "routing": DEFAULT_ROUTING, "task-templates": DEFAULT_TASK_TEMPLATES, "handoff-specs": DEFAULT_HANDOFF_SPECS,
    "signal-definitions": DEFAULT_SIGNAL_DEFINITIONS, "score-weights": ScoreWeightsIn().model_dump(mode="json"),
    "cost-model": CostModelIn().model_dump(mode="json"), "territory": TerritorySettings().model_dump(mode="json"),
    "rituals": DEFAULT_RITUALS, "account-calendars": DEFAULT_ACCOUNT_CALENDARS,
    "calendars": {**DEFAULT_CALENDARS, "calendars": [
        *DEFAULT_CALENDARS["calendars"],
        {"name": "berlin", "time_zone": "Europe/Berlin", "working_days": ["monday", "tuesday"], "opens": "08:30",
         "closes": "18:00", "holidays": {"country": "DE", "subdivision": "BY"}, "closures": ["2027-12-24"]}]},
    "rotations": {"rotations": [{"key": "csm-on-call", "members": ["casey", "dana"], "handover": "weekly",
                                 "handover_time": "09:00", "time_zone": "Europe/Paris", "start_date": "2027-01-04",
                                 "overrides": [{"user_id": "dana", "covers": "casey", "starts_at": "2027-02-01T00:00:00Z",
                                                "ends_at": "2027-02-08T00:00:00Z", "reason": "leave"}]}]},
}


def stored(slug: str) -> dict:
    return FORMS[slug].model_in.model_validate(DEFAULTS[slug]).model_dump(mode="json")


def saved(slug: str, values: dict[str, str], body_now: dict) -> dict:
    body, _ = parse_form(FORMS[slug], values, body_now)
    return FORMS[slug].model_in.model_validate(body).model_dump(mode="json")


@pytest.mark.parametrize("slug", sorted(FORMS))
def test_every_config_comes_back_unchanged_through_its_form(slug):
    assert set(DEFAULTS) == set(FORMS)
    body = stored(slug)
    assert saved(slug, form_values(FORMS[slug], body), body) == body


def test_a_rule_field_the_form_does_not_show_travels_with_its_row():
    body = stored("routing")
    body["rules"][0]["sla_clock"] = "business_hours"  # what another part of Pillar may add to a rule
    values = form_values(FORMS["routing"], body)
    parsed, _ = parse_form(FORMS["routing"], values, body)
    assert parsed["rules"][0]["sla_clock"] == "business_hours"


def test_removed_and_blank_rows_are_left_out_and_the_diff_names_the_rule():
    body = stored("routing")
    values = form_values(FORMS["routing"], body)
    values["t.rules.1.remove"] = "on"
    after = saved("routing", values, body)
    assert len(after["rules"]) == len(body["rules"]) - 1
    gone = body["rules"][1]
    [change] = config_diff(body, after)
    assert (change.what, change.where) == ("removed", f"rules: {gone['family']} · {gone['severity']}")


def test_refusals_are_put_next_to_their_fields_in_words():
    body = stored("routing")
    values = form_values(FORMS["routing"], body)
    values.update({"t.rules.2.sla": "P3000000D", "t.rules.2.owners": "csm, boss"})
    parsed, origins = parse_form(FORMS["routing"], values, body)
    with pytest.raises(ValidationError) as refused:
        FORMS["routing"].model_in.model_validate(parsed)
    errors = field_errors(FORMS["routing"], refused.value, origins)
    assert errors["t.rules.2.sla"] == "a duration can be at most P400D"
    assert errors["t.rules.2.owners"].startswith("'boss' is not one of 'ae', 'csm'")
    assert describe(FORMS["routing"], "t.rules.2.sla") == "rule 3, SLA"


def test_a_setting_that_is_not_a_number_and_json_that_does_not_parse_are_refused():
    weights = stored("score-weights")
    values = form_values(FORMS["score-weights"], weights)
    values["l.renewal_risk.tiers.critical"] = "high"
    parsed, origins = parse_form(FORMS["score-weights"], values, weights)
    with pytest.raises(ValidationError) as refused:
        FORMS["score-weights"].model_in.model_validate(parsed)
    assert "valid number" in field_errors(FORMS["score-weights"], refused.value, origins)["l.renewal_risk.tiers.critical"]
    costs = stored("cost-model")
    values = form_values(FORMS["cost-model"], costs)
    values["l.save_costs.critical"] = "[{"
    with pytest.raises(FormRefused) as bad_json:
        parse_form(FORMS["cost-model"], values, costs)
    assert bad_json.value.errors["l.save_costs.critical"].startswith("not valid JSON")


def test_a_play_ahead_of_the_budget_window_is_edited_in_its_own_row():
    body = stored("account-calendars")
    values = form_values(FORMS["account-calendars"], body)
    blank = f"t.budget_plays.{len(body['budget_plays'])}"  # the blank row at the table's end
    values.update({f"{blank}.play_key": "renewal_save", f"{blank}.phase": "budget_window", f"{blank}.lead": "P45D",
                   f"{blank}.renewal_within_days": "120", f"{blank}.min_risk_tier": "high"})
    after = saved("account-calendars", values, body)
    assert after["budget_plays"][-1] == {"play_key": "renewal_save", "phase": "budget_window", "lead": "P45D",
                                         "renewal_within_days": 120, "min_risk_tier": "high"}
    assert after["calendars"] == body["calendars"] and after["by_motion"] == body["by_motion"]
