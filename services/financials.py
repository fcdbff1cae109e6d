"""Layer III: the financial cascade. Pure functions over accounts, scores and the cost model."""

from models.financials import CostModelIn, Financials, LostAccount, NrrScenario
from models.scoring import RiskTier


def dollars(amount: float) -> str:
    return f"${amount / 1000:,.0f}K" if amount >= 1000 else f"${amount:,.0f}"


def nrr_scenario(starting_arr: float, lost: list[LostAccount], expansion_arr: float = 0) -> NrrScenario:
    """NRR over the book with and without the given accounts' ARR (no starting ARR: NRR is undefined, shown as 0)."""
    lost_arr = sum(a.arr for a in lost)

    def pct(value: float) -> float:
        return round(100 * value / starting_arr, 2) if starting_arr else 0.0

    baseline, if_lost = pct(starting_arr + expansion_arr), pct(starting_arr + expansion_arr - lost_arr)
    names = ", ".join(a.id for a in lost)
    return NrrScenario(
        starting_arr=starting_arr, lost_arr=lost_arr, expansion_arr=expansion_arr, nrr_baseline_pct=baseline,
        nrr_if_lost_pct=if_lost, nrr_impact_points=round(baseline - if_lost, 2), accounts=lost,
        explanation=f"losing {names} ({dollars(lost_arr)} of {dollars(starting_arr)}) takes NRR from {baseline:g}% to "
                    f"{if_lost:g}% (−{baseline - if_lost:.2f} points)",
    )


def account_financials(
    account_id: str, arr: float, tier: RiskTier, risk: float, cost_model: CostModelIn, cost_model_version: int,
    book_arr: float, score_as_of=None,
) -> Financials:
    items = cost_model.save_costs[tier]
    save = sum(i.cost for i in items)
    replace = round(arr * cost_model.replacement_cac_ratio, 2)
    probability = cost_model.churn_probability[tier]
    at_risk = arr if tier in cost_model.at_risk_tiers else 0.0
    recommendation = "save" if at_risk and save < replace else "monitor"
    what = " + ".join(i.item.replace("_", " ") for i in items) or "nothing"
    return Financials(
        account_id=account_id, arr=arr, risk_tier=tier, renewal_risk=risk, score_as_of=score_as_of, churn_probability=probability,
        arr_at_risk=at_risk, expected_loss=round(arr * probability, 2), cost_to_save=save, save_items=items,
        cost_to_replace=replace, recommendation=recommendation,
        nrr_impact=nrr_scenario(book_arr, [LostAccount(id=account_id, arr=arr, risk_tier=tier)]),
        cost_model_version=cost_model_version,
        explanation=f"{dollars(at_risk)} ARR at risk ({tier.value}); save {dollars(save)} ({what}) vs replace "
                    f"{dollars(replace)} (new-business CAC at {cost_model.replacement_cac_ratio:.0%} of ARR): {recommendation}",
    )
