"""DESIGN.md's reference scenario end to end on the dev server: one $180K account, one bad week."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from core.db import get_engine
from models.rituals import Agenda
from services.agendas import build
from services.rituals import start_for

from tests.support.accounts import make_account, move_renewal, signals_of
from tests.support.events import RENEWAL_DATE, SCENARIO_END, bad_week, baseline
from tests.support.rituals import enable_rituals, triggered_agenda
from tests.support.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_bad_week_takes_the_account_to_critical_pages_once_and_starts_a_priced_renewal_save(api):
    account_id = await make_account(api, "acme-ref", renewal_date=RENEWAL_DATE.isoformat())  # 90 days after the bad week
    steady = await api.http.post("/api/v1/events/batch", json={"events": baseline(account_id)}, headers=api.auth("rory"))
    assert steady.status_code == 201, steady.text
    assert steady.json()["signals"] == []
    before = (await api.http.get(f"/api/v1/accounts/{account_id}/score", headers=api.auth("casey"))).json()
    assert before["health"]["value"] == 72 and before["renewal_risk"]["tier"] == "low"
    assert abs(before["renewal_risk"]["value"] - 28) <= 0.5 and abs(before["forecast_confidence"]["value"] - 82) <= 0.5

    opened = []
    for event in bad_week(account_id):  # the week arrives as a stream, one event at a time
        response = await api.http.post("/api/v1/events", json=event, headers=api.auth("rory"))
        assert response.status_code == 201, response.text
        opened += [s for s in response.json()["signals"] if s["family"] == "renewal_risk"]

    score = (await api.http.get(f"/api/v1/accounts/{account_id}/score", headers=api.auth("casey"))).json()
    assert abs(score["health"]["value"] - 28) <= 0.5
    assert score["renewal_risk"]["tier"] == "critical" and abs(score["renewal_risk"]["value"] - 90) <= 0.5
    assert abs(score["forecast_confidence"]["value"] - 15) <= 0.5
    # "why is this 28?": every point of it, in words
    assert score["health"]["explanation"] == ("health 28: usage down 35% vs the prior 30 days (−14), champion left (−12), "
                                              "NPS 8 → 3 (−8), support tickets ×3 in 30 days (3 vs 1) (−8)")
    assert "renewal in 90 days (+10)" in score["renewal_risk"]["explanation"]
    stored_ids = {e["id"] for e in (await api.http.get("/api/v1/events", params={"account_id": account_id},
                                                        headers=api.auth("casey"))).json()}
    assert len(stored_ids) == len(baseline(account_id)) + len(bad_week(account_id))
    for component in score["health"]["components"]:
        assert {"key", "label", "value", "weight", "contribution", "evidence"} <= set(component)
        assert set(component["evidence"]) <= stored_ids
    assert any(c["evidence"] for c in score["health"]["components"] if c["contribution"] < 0)

    history = (await api.http.get(f"/api/v1/accounts/{account_id}/score/history", headers=api.auth("maya"))).json()
    assert history[0]["health"] == 72 and history[-1]["health"] == 28 and history[-1]["risk_tier"] == "critical"
    assert [p["as_of"] for p in history] == sorted(p["as_of"] for p in history)

    # renewal_risk fired once, however many events kept the condition true, and paged its owners
    assert len({s["signal_id"] for s in opened}) == 1 and sum(s["new"] for s in opened) == 1
    signal_id = opened[0]["signal_id"]
    replay = await api.http.post("/api/v1/events/batch", json={"events": bad_week(account_id)}, headers=api.auth("rory"))
    assert replay.json()["duplicates"] == len(bad_week(account_id))
    assert [s["new"] for s in replay.json()["signals"] if s["family"] == "renewal_risk"] == [False]
    risk_signals = await eventually(lambda: signals_of(api, account_id, "renewal_risk"))
    assert [s["id"] for s in risk_signals] == [signal_id]
    detail = (await api.http.get(f"/api/v1/signals/{signal_id}", headers=api.auth("lee"))).json()
    assert detail["severity"] == "critical" and detail["owners"] == ["lee", "alex"]
    assert detail["evidence"]["measured"] == {"renewal_risk_tier_rank": 4} and detail["evidence"]["play_key"] == "renewal_save"
    assert set(detail["evidence"]["event_ids"]) <= stored_ids

    for owner in ("lee", "alex"):
        async def paged(owner=owner):
            notes = (await api.http.get("/api/v1/me/notifications", headers=api.auth(owner))).json()
            return [n for n in notes if n["subject_id"] == signal_id and n["kind"] == "page"]

        assert len(await eventually(paged)) == 1

    # the CSM lead acknowledges and assigns the Renewal Save, owned step by step by the account's CSM
    ack = await api.http.post(f"/api/v1/signals/{signal_id}/acknowledge", headers=api.auth("lee"))
    assert ack.status_code == 200, ack.text
    assert "renewal_save_play" in [c["template_key"] for c in ack.json()["task_candidates"]]
    chosen = await api.http.post(f"/api/v1/signals/{signal_id}/tasks", json={"template_key": "renewal_save_play",
                                 "owner_id": "casey"}, headers=api.auth("lee"))
    assert chosen.status_code == 201, chosen.text
    run_id = chosen.json()["play_run_id"]
    assigned = datetime.fromisoformat(chosen.json()["due_at"]) - timedelta(days=7)  # the save's 7-day deadline
    assert abs((datetime.now(assigned.tzinfo) - assigned).total_seconds()) < 600
    run = (await api.http.get(f"/api/v1/play-runs/{run_id}", headers=api.auth("maya"))).json()
    assert (run["play_key"], run["account_id"], run["status"]) == ("renewal_save", account_id, "running")
    assert run["steps"][0]["status"] == "ready" and run["steps"][0]["owner_id"] == "casey"

    async def on_the_board():
        rows = (await api.http.get("/api/v1/play-runs", params={"status": "running", "account_id": account_id},
                                   headers=api.auth("maya"))).json()
        return [r for r in rows if r["id"] == run_id]

    assert (await eventually(on_the_board))[0]["current_steps"] == [run["steps"][0]["key"]]

    money = (await api.http.get(f"/api/v1/accounts/{account_id}/financials", headers=api.auth("maya"))).json()
    assert money["cost_to_save"] == 14_000 and money["cost_to_replace"] == 54_000
    assert money["arr_at_risk"] == 180_000 and money["risk_tier"] == "critical" and money["recommendation"] == "save"
    assert [i["item"] for i in money["save_items"]] == ["csm_escalation", "executive_engagement"]
    impact = money["nrr_impact"]
    assert impact["lost_arr"] == 180_000 and impact["nrr_impact_points"] > 0
    assert impact["nrr_if_lost_pct"] == round(100 * (impact["starting_arr"] - 180_000) / impact["starting_arr"], 2)

    scenario = await api.http.post("/api/v1/scenarios/nrr", json={"account_ids": [account_id]}, headers=api.auth("maya"))
    assert scenario.status_code == 200 and scenario.json()["accounts"] == [{"id": account_id, "arr": 180_000, "risk_tier": "critical"}]
    assert scenario.json()["nrr_impact_points"] == impact["nrr_impact_points"]

    # the cadences above the week, as its data stand at the week's end (the renewal is 90 days out then): flagged for a
    # save in the biweekly renewal triage, and in the NRR impact of the at-risk book the CRO's board prep opens with
    renewals, board_prep = agendas_as_of(SCENARIO_END, ("renewal_triage", "academic"), ("board_prep", "all"))
    [triaged] = [i for s in renewals.sections for i in s.items if i.ref_id == account_id]
    assert triaged.facts["days_to_renewal"] == 90 and triaged.facts["recommendation"] == "save"
    assert triaged.facts["cost_to_save"] == 14_000 and triaged.facts["nrr_impact_points"] == impact["nrr_impact_points"]
    at_risk_book = board_prep.sections[0].items[0]
    assert at_risk_book.ref_id == "nrr-if-at-risk-lost" and account_id in at_risk_book.facts["accounts"]

    # the week shows up where it is worked: flagged in the Monday triage, the save's first step in Casey's 1:1
    triage = await triggered_agenda(api, "signal_triage")
    flagged = [i for i in triage["sections"][0]["items"] if i["ref_id"] == signal_id]
    assert flagged and flagged[0]["facts"]["severity"] == "critical" and flagged[0]["facts"]["status"] == "acknowledged"
    # and, pre-scored, its at-risk renewal in the same section. The reference week sits early in 2026 and the 1:1
    # meets today: the renewal moves to 60 days from today (its scores stay those of the week)
    await move_renewal(api, account_id, (datetime.now(UTC) + timedelta(days=60)).date())
    one_on_ones = await triggered_agenda(api, "execution_one_on_ones", own=True)
    casey = next(s for s in one_on_ones["sections"] if s["owner_id"] == "casey")
    assert f"{run_id}/{run['steps'][0]['key']}" in [i["ref_id"] for i in casey["items"]]
    [renewal] = [i for i in casey["items"] if i["account_id"] == account_id and i["kind"] == "renewal"]
    assert renewal["ref_id"] == account_id and renewal["score"] == score["renewal_risk"]["value"]
    assert renewal["why"].startswith(score["renewal_risk"]["explanation"]) and "save $14K" in renewal["why"]
    assert (renewal["facts"]["risk_tier"], renewal["facts"]["arr_at_risk"]) == ("critical", 180_000)
    assert renewal["facts"]["days_to_renewal"] in (59, 60)  # 59 if the agenda is built past midnight UTC

    # the Thursday at-risk review puts it before the VP with its money and the save running (risk 90: the riskiest)
    at_risk = await triggered_agenda(api, "at_risk_review")
    reviewed = [i for i in at_risk["sections"][0]["items"] if i["account_id"] == account_id]
    assert reviewed and reviewed[0]["facts"]["nrr_impact_points"] == impact["nrr_impact_points"]
    assert reviewed[0]["facts"]["cost_to_save"] == 14_000 and run_id in [p["id"] for p in reviewed[0]["facts"]["active_plays"]]

    # Layer III: the risk concentrates on Casey within Lee's team, so a rebalance is proposed that keeps the save with her
    proposed = await api.http.post("/api/v1/territory/rebalance", json={"manager_id": "lee"}, headers=api.auth("maya"))
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["concentrated_on"] == "casey" and proposed.json()["moves"]
    assert account_id not in [m["account_id"] for m in proposed.json()["moves"]]
    # the CRO sees its NRR impact for the board, and the save gets an SE and the CRO as executive sponsor
    board = await api.http.post("/api/v1/scenarios/nrr", json={"account_ids": [account_id]}, headers=api.auth("kim"))
    assert board.status_code == 200 and board.json()["nrr_impact_points"] == impact["nrr_impact_points"]
    allocations = (await api.http.get("/api/v1/territory/allocations", headers=api.auth("kim"))).json()
    assert [(a["se_id"], a["executive_id"]) for a in allocations if a["account_id"] == account_id] == [("sid", "kim")]


def agendas_as_of(at: datetime, *rituals: tuple[str, str]) -> list[Agenda]:
    """Each (ritual, motion)'s agenda for a meeting at `at`, built from the database as it stands (not stored)."""
    enable_rituals(*(key for key, _ in rituals))
    with Session(get_engine()) as session:
        return [build(session, start_for(session, key, motion, at, by_hand=True), at, None) for key, motion in rituals]

