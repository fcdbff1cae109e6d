"""The cadences beyond the weekly five (issue 16), each agenda built on the demo book on SQLite and PostgreSQL: the
reference account's bad week on Acme, Globex with a stalled deal whose close date slipped, Initech steady with a
fresh deal."""

import asyncio
from datetime import timedelta

from pydantic import TypeAdapter
from sqlmodel import Session

from api.agenda_html import agenda_html
from core.seed import load_default_config, load_demo_directory
from models.events import AccountEvent
from models.rituals import BuildAgendaRequest, RitualStart
from models.plays import PlayRun, RunStatus, RunStep, StepStatus
from models.tables import Account, PlayRunRow, TaskRow
from services import agendas
from services.events import ingest, latest_score, latest_scores
from services.financials import account_financials
from services.layer_config import current_cost_model
from services.rituals import current_rituals, next_meeting_after
from tests.support.events import RENEWAL_DATE, SCENARIO_END, T0, bad_week, baseline

AS_OF = SCENARIO_END + timedelta(hours=1)
EVENTS = TypeAdapter(list[AccountEvent])


def _deal(account_id: str, n: int, at, **fields) -> dict:
    return {"kind": "crm_stage_change", "account_id": account_id, "occurred_at": at.isoformat(), "external_id": f"crm-{n}", **fields}


def demo_book(session: Session) -> None:
    load_default_config(session)
    load_demo_directory(session, "cadences-admin-token-0123")
    renewals = {"acme": RENEWAL_DATE, "initech": (SCENARIO_END + timedelta(days=30)).date(), "globex": (SCENARIO_END + timedelta(days=150)).date()}
    for account_id, renewal in renewals.items():
        session.get(Account, account_id).renewal_date = renewal
    session.commit()
    stalled = [_deal("globex", 1, T0 + timedelta(days=10), opportunity_id="g1", opportunity_type="new_business", stage="proposal",
                     amount=60_000, close_date="2026-03-15"),
               _deal("globex", 2, T0 + timedelta(days=20), opportunity_id="g1", opportunity_type="new_business", stage="proposal",
                     close_date="2026-04-15")]  # the same stage, the close date a month later
    moving = [_deal("initech", 3, SCENARIO_END - timedelta(days=2), opportunity_id="i1", opportunity_type="expansion",
                    stage="negotiation", amount=20_000, close_date="2026-04-30")]
    events = baseline("acme") + bad_week("acme") + baseline("globex") + stalled + baseline("initech") + moving
    asyncio.run(ingest(session, None, EVENTS.validate_python(events), actor="test"))


def agenda_of(session: Session, key: str, motion: str = "all"):
    config = current_rituals(session)
    ritual = config.ritual(key)
    assert not ritual.enabled  # rolled out one at a time: off by default
    meeting_at = AS_OF + ritual.lead
    start = RitualStart(agenda_id=f"agd-{key}", ritual=ritual, triage=config.triage, config_version=config.version, motion=motion,
                        scheduled_at=AS_OF, meeting_at=meeting_at, closes_at=next_meeting_after(ritual, meeting_at))
    stored = agendas.store(session, BuildAgendaRequest(start=start, as_of=AS_OF, workflow_id=f"wf-{key}"))
    page = agenda_html(session, stored.id)  # every kind renders as the printable page, its ranking in words
    assert f"{ritual.name} — {motion}" in page and "<strong>Ranking:</strong>" in page
    return agendas.get_agenda(session, stored.id)


def section(agenda, key: str) -> list:
    return next(s for s in agenda.sections if s.key == key).items


def test_renewal_triage_ranks_renewals_by_risk_times_arr_with_save_vs_replace(any_db):
    with Session(any_db) as session:
        demo_book(session)
        agenda = agenda_of(session, "renewal_triage")
    near, far = section(agenda, "renewals_90"), section(agenda, "renewals_180")
    assert [i.ref_id for i in near] == ["acme", "initech"] and [i.ref_id for i in far] == ["globex"]
    acme = near[0]
    assert acme.facts["days_to_renewal"] == 90 and acme.facts["risk_tier"] == "critical"
    assert acme.score == round(acme.facts["renewal_risk"] / 100 * 180, 1) > near[1].score
    assert (acme.facts["cost_to_save"], acme.facts["cost_to_replace"], acme.facts["recommendation"]) == (14_000, 54_000, "save")
    assert acme.why.startswith(f"renewal risk {acme.facts['renewal_risk']:g} (critical) × $180K ARR") and "save $14K" in acme.why
    assert "1 worth a save ($14K to save vs $54K to replace)" in agenda.summary
    assert "risk" in agenda.scoring and [s.key for s in agenda.sections][-1] == "carried_over"


def test_pipeline_review_scores_stalls_pushes_and_missing_next_steps(any_db):
    with Session(any_db) as session:
        demo_book(session)
        agenda = agenda_of(session, "pipeline_review")
    deals = section(agenda, "deals")
    assert [i.ref_id for i in deals] == ["g1", "i1"]  # closed deals (none here) never show
    globex, initech = deals
    assert globex.facts["stalled"] and globex.facts["close_date_pushes"] == 1 and globex.facts["stage"] == "proposal"
    assert globex.score == 6 + 30 + 10 + 20  # $60K, stalled, one push, no next step
    assert "stalled: no stage change for" in globex.why and "close date pushed 1× (+10)" in globex.why and "no next step (+20)" in globex.why
    assert not initech.facts["stalled"] and initech.score == 2 + 20
    assert [(i.ref_id, i.owner_ids) for i in section(agenda, "next_steps")] == [("g1", ["alex"]), ("i1", ["alex"])]
    assert "2 open deal(s) worth $80K: 1 stalled" in agenda.summary


def test_pipeline_review_names_the_owner_of_an_overdue_next_step(any_db):
    with Session(any_db) as session:
        demo_book(session)
        due = AS_OF - timedelta(days=2)
        session.add(TaskRow(id="t-initech", signal_id="s-initech", account_id="initech", owner_id="casey", due_at=due, updated_at=due,
                            state={"title": "Send the expansion quote", "play_run_id": None}))
        session.commit()
        agenda = agenda_of(session, "pipeline_review")
    initech = next(i for i in section(agenda, "deals") if i.ref_id == "i1")
    assert initech.score == 2 + 15 and "next step overdue by 2.0 days (casey) (+15)" in initech.why
    assert (initech.facts["next_step"], initech.facts["next_step_owner"], initech.facts["overdue"]) == ("Send the expansion quote", "casey", True)
    late = next(i for i in section(agenda, "next_steps") if i.ref_id == "i1")
    assert late.owner_ids == ["casey"] and late.why == "Send the expansion quote: overdue, owned by casey"


def test_pipeline_review_takes_a_running_plays_open_step_as_the_next_step(any_db):
    with Session(any_db) as session:
        demo_book(session)
        due = AS_OF + timedelta(days=1)
        run = PlayRun(id="run-g1", workflow_id="play-run-g1", play_key="deal_rescue", play_version=1, account_id="globex",
                      status=RunStatus.running, started_at=AS_OF - timedelta(days=1),
                      steps=[RunStep(key="diagnose", title="Diagnose the stall", owner_id="alex", status=StepStatus.ready,
                                     ready_at=AS_OF - timedelta(days=1), due_at=due)])
        session.add(PlayRunRow(id=run.id, workflow_id=run.workflow_id, play_key=run.play_key, play_version=1, account_id="globex",
                               status="running", current_steps=["diagnose"], started_at=run.started_at, updated_at=AS_OF,
                               state=run.model_dump(mode="json")))
        session.commit()
        agenda = agenda_of(session, "pipeline_review")
    globex = next(i for i in section(agenda, "deals") if i.ref_id == "g1")
    assert (globex.facts["next_step"], globex.facts["next_step_owner"]) == ("deal_rescue: Diagnose the stall", "alex")
    assert "no next step" not in globex.why


def test_territory_review_shows_each_owners_pnl_yield_and_the_open_rebalance(any_db):
    from services import territory
    with Session(any_db) as session:
        demo_book(session)
        proposal = territory.propose(session, "rory")
        agenda = agenda_of(session, "territory_review")
    casey, dana = section(agenda, "owners")
    assert (casey.ref_id, casey.facts["arr"], casey.facts["arr_at_risk"], casey.facts["save_costs"]) == ("casey", 315_000, 180_000, 14_000)
    assert (casey.facts["load_units"], casey.score, casey.facts["arr_per_unit"]) == (5, 25, 63_000)
    assert casey.why.startswith("load 5 of 20 units (25% of capacity); yield $63K ARR per unit; $180K at risk")
    assert (dana.ref_id, dana.facts["accounts"], dana.score) == ("dana", 0, 0)
    assert section(agenda, "coverage") == []
    assert [i.ref_id for i in section(agenda, "rebalance")] == [proposal.id]
    assert "coverage 100%" in agenda.summary and "1 rebalance proposal(s) open" in agenda.summary


def test_business_review_projects_nrr_and_allocates_the_save_investment_by_tier(any_db):
    with Session(any_db) as session:
        demo_book(session)
        agenda = agenda_of(session, "business_review")
        churn = current_cost_model(session).churn_probability
        tiers = {a: s.renewal_risk.tier for a, s in latest_scores(session, ["acme", "globex", "initech"]).items()}
    worst, expected = section(agenda, "nrr_projection")
    assert worst.facts["nrr_pct"] == round(100 * (315_000 - 180_000) / 315_000, 2) and worst.facts["accounts"] == ["acme"]
    loss = sum(arr * churn[tiers[a]] for a, arr in (("acme", 180_000), ("globex", 95_000), ("initech", 40_000)))
    assert abs(expected.facts["expected_loss"] - loss) < 0.01 and expected.score == round(100 * (315_000 - loss) / 315_000, 2)
    tiers = section(agenda, "investment")
    assert tiers[0].ref_id == "tier-critical" and (tiers[0].facts["save_costs"], tiers[0].facts["arr_protected"]) == (14_000, 180_000)
    assert tiers[0].why == "$14K of saves protects $180K ARR (12.9× return) on 1 account(s)"
    assert all(i.facts["save_costs"] == 0 for i in tiers[1:])


def test_board_prep_shows_the_reference_accounts_nrr_impact_its_save_and_the_forecast(any_db):
    with Session(any_db) as session:
        demo_book(session)
        agenda = agenda_of(session, "board_prep")
        score = latest_score(session, "acme")
        model = current_cost_model(session)
        money = account_financials("acme", 180_000, score.renewal_risk.tier, score.renewal_risk.value, model, model.version, 315_000)
    book = section(agenda, "nrr_impact")[0]
    assert book.facts["nrr_impact_points"] == money.nrr_impact.nrr_impact_points == round(100 * 180_000 / 315_000, 2)
    risks = section(agenda, "top_risks")
    assert [i.ref_id for i in risks] == ["acme"]  # the only account at risk
    acme = risks[0]
    assert acme.facts["nrr_impact_points"] == money.nrr_impact.nrr_impact_points and acme.facts["risk_tier"] == "critical"
    assert f"NRR −{money.nrr_impact.nrr_impact_points:g} points" in acme.title
    assert "save $14K" in acme.why and acme.why.endswith("save play: no save play running")
    forecast = section(agenda, "forecast")
    assert [(i.ref_id, i.facts["amount"]) for i in forecast] == [("g1", 60_000), ("i1", 20_000)]
    assert all(i.facts["weighted_amount"] == round(i.facts["amount"] * i.score / 100, 2) for i in forecast)
    assert agenda.summary.startswith("CRO board prep, every account: NRR 42.86% if the at-risk book is lost (−57.14 points")
