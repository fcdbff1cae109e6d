"""What each weekly ritual decides on, built on SQLite and PostgreSQL (issue 16): the Tuesday 1:1s carry each rep's
commit deals and at-risk renewals pre-scored, the Thursday at-risk review its cross-sell slot, and the printable
agenda the decisions recorded on them."""

import asyncio
from datetime import timedelta

from pydantic import TypeAdapter
from sqlmodel import Session

from api.agenda_html import agenda_html
from core.seed import load_default_config, load_demo_directory
from models.events import AccountEvent
from models.rituals import BuildAgendaRequest, ItemDecision, RitualStart, decidable_refs
from models.signals import SignalDetail
from models.tables import Account, AgendaRow, SignalRow
from services import agendas
from services.events import ingest, latest_score
from services.rituals import current_rituals, next_meeting_after
from tests.support.events import RENEWAL_DATE, SCENARIO_END, T0, bad_week, baseline

AS_OF = SCENARIO_END + timedelta(hours=1)
EVENTS = TypeAdapter(list[AccountEvent])


def _commit(account_id: str, opportunity_id: str, amount: float) -> dict:
    return {"kind": "crm_stage_change", "account_id": account_id, "occurred_at": (SCENARIO_END - timedelta(days=3)).isoformat(),
            "external_id": f"crm-{account_id}", "opportunity_id": opportunity_id, "stage": "commit", "amount": amount,
            "close_date": "2026-05-29"}


def book_with_commits(session: Session) -> None:
    """Acme's bad week with its renewal 90 days out and in commit; Initech and Globex steady, each with a commit whose
    CRM reused the opportunity id `r1`; Initech renews in 30 days at low risk."""
    load_default_config(session)
    load_demo_directory(session, "decisions-admin-token-0123")
    session.get(Account, "acme").renewal_date = RENEWAL_DATE
    session.get(Account, "initech").renewal_date = (SCENARIO_END + timedelta(days=30)).date()
    session.commit()
    events = (baseline("acme") + bad_week("acme") + [_commit("acme", "opp-acme-renewal", 180_000)]
              + baseline("initech") + [_commit("initech", "r1", 20_000)] + baseline("globex") + [_commit("globex", "r1", 60_000)])
    asyncio.run(ingest(session, None, EVENTS.validate_python(events), actor="test"))


def watermark(session: Session, account_id: str, status: str, measured: dict) -> None:
    at = SCENARIO_END - timedelta(days=1)
    detail = SignalDetail(id=f"sig-xsell-{account_id}", family="cross_sell_watermark", severity="info", account_id=account_id,
                          status=status, owners=["alex"], sla_due_at=at + timedelta(days=7), routing_version=1, created_at=at,
                          evidence={"measured": measured, "event_ids": ["ev-xsell"]})
    session.add(SignalRow(id=detail.id, workflow_id=f"signal-{detail.id}", family=detail.family, severity="info", account_id=account_id,
                          status=status, owner_ids=["alex"], sla_due_at=detail.sla_due_at, routing_version=1, created_at=at,
                          updated_at=at, state=detail.model_dump(mode="json")))
    session.commit()


def built(session: Session, key: str, as_of=AS_OF, agenda_id: str | None = None):
    config = current_rituals(session)
    ritual = config.ritual(key)
    meeting_at = as_of + ritual.lead
    start = RitualStart(agenda_id=agenda_id or f"agd-{key}", ritual=ritual, triage=config.triage, config_version=config.version,
                        motion="all", scheduled_at=as_of, meeting_at=meeting_at, closes_at=next_meeting_after(ritual, meeting_at))
    stored = agendas.store(session, BuildAgendaRequest(start=start, as_of=as_of, workflow_id=f"wf-{start.agenda_id}"))
    return agendas.get_agenda(session, stored.id)


def section(agenda, key: str) -> list:
    return next(s for s in agenda.sections if s.key == key).items


def decide(session: Session, agenda_id: str, *decisions: ItemDecision) -> None:
    """What the ritual's run writes to the agenda's read model when the meeting records its decisions."""
    row = session.get(AgendaRow, agenda_id)
    row.decisions = [d.model_dump(mode="json") for d in decisions]
    session.add(row)
    session.commit()


def test_each_reps_1_1_lists_their_commits_and_at_risk_renewals_pre_scored_and_decidable(any_db):
    with Session(any_db) as session:
        book_with_commits(session)
        one_on_ones = built(session, "execution_one_on_ones")
        forecast = built(session, "forecast_call")
        acme = latest_score(session, "acme")

    casey, alex = one_on_ones.sections  # the owner with the most renewal ARR at risk first (nothing is overdue)
    assert (casey.owner_id, alex.owner_id) == ("casey", "alex")
    [renewal] = casey.items
    assert (renewal.kind, renewal.ref_id, renewal.owner_ids) == ("renewal", "acme", ["casey"])  # the CSM owns the renewal
    assert renewal.score == acme.renewal_risk.value and acme.renewal_risk.tier.value == "critical"
    assert renewal.why.startswith(acme.renewal_risk.explanation) and "save $14K" in renewal.why
    assert (renewal.facts["days_to_renewal"], renewal.facts["arr_at_risk"], renewal.facts["recommendation"]) == (90, 180_000, "save")
    assert renewal.evidence and casey.summary == "1 at-risk renewal(s), 0 commit(s); 0 overdue of 0 open"

    # the AE's commits are the forecast's, weakest evidence first, each with its confidence and why; Initech (low
    # risk, renewing in 30 days) is no at-risk renewal
    commits = {c.facts["opportunity_id"] + "@" + c.account_id: c for c in section(forecast, "commits")}
    assert [i.kind for i in alex.items] == ["commit"] * 3 and len(commits) == 3
    for item in alex.items:
        same = commits[item.facts["opportunity_id"] + "@" + item.account_id]
        assert (item.owner_ids, item.score, item.why, item.title) == (["alex"], same.score, same.why, same.title)
        assert item.facts["forecast_confidence"] == item.score and item.facts["amount"] == same.facts["amount"]
    assert [i.score for i in alex.items] == sorted(i.score for i in alex.items)
    # two CRMs reused `r1`: the later one is told apart by its account, so each commit gets its own decision
    assert sorted((i.account_id, i.ref_id) for i in alex.items if i.account_id != "acme") == [("globex", "r1"), ("initech", "initech/r1")]
    refs = decidable_refs(one_on_ones)
    assert len(refs) == 4 and set(refs) == {i.ref_id for s in one_on_ones.sections for i in s.items}
    assert one_on_ones.decisions_expected == 4
    assert "1 at-risk renewal(s) ($180K ARR at risk), 3 commit(s) worth $260K" in one_on_ones.summary
    assert "renewal-risk score" in one_on_ones.scoring and "forecast confidence" in one_on_ones.scoring


def test_the_at_risk_review_has_a_cross_sell_slot_that_is_not_decided_on(any_db):
    with Session(any_db) as session:
        book_with_commits(session)
        watermark(session, "initech", "acknowledged", {"program_adoption_pct": 45, "contract_years": 3, "adjacent_program_present": 1})
        watermark(session, "globex", "open", {})
        watermark(session, "acme", "resolved", {"program_adoption_pct": 60})
        agenda = built(session, "at_risk_review")
    assert [s.key for s in agenda.sections] == ["at_risk", "cross_sell", "carried_over"]
    globex, initech = section(agenda, "cross_sell")  # by ARR; Acme's watermark is resolved
    assert (globex.kind, globex.ref_id, globex.owner_ids, globex.score, globex.why) == ("cross_sell", "globex", ["alex"], 95, "$95K ARR")
    assert initech.why == "$40K ARR, motion-A adoption 45%, 3-year contract, adjacent program present"
    assert (initech.facts["signal_id"], initech.facts["status"], initech.evidence) == ("sig-xsell-initech", "acknowledged", ["ev-xsell"])
    assert decidable_refs(agenda) == [i.ref_id for i in section(agenda, "at_risk")] and "acme" in decidable_refs(agenda)
    assert "cross-sell slot: 2 of 2 watermark account(s)" in agenda.summary and "cross-sell watermark" in agenda.scoring


def test_the_printable_agenda_shows_each_decision_and_the_revised_commit_week_over_week(any_db):
    with Session(any_db) as session:
        book_with_commits(session)
        one_on_ones = built(session, "execution_one_on_ones")
        page = agenda_html(session, one_on_ones.id)
        assert "Decisions recorded 0 of 4" in page and page.count("undecided") == 4
        decide(session, one_on_ones.id, ItemDecision(ref_id="acme", decision="help_needed", reason="exec sponsor for the provost call",
                                                     decided_at=AS_OF + timedelta(days=1), decided_by="lee"))
        page = agenda_html(session, one_on_ones.id)
        assert "Decisions recorded 1 of 4" in page and page.count("undecided") == 3
        assert "<strong>help needed</strong>" in page and "exec sponsor for the provost call" in page and "Lee" in page

        last_week = built(session, "forecast_call", AS_OF - timedelta(days=7), "agd-forecast-last-week")
        this_week = built(session, "forecast_call")
        decide(session, last_week.id, ItemDecision(ref_id="meeting", decision="revised_commit", amount=300_000,
                                                   decided_at=AS_OF - timedelta(days=6), decided_by="maya"))
        decide(session, this_week.id, ItemDecision(ref_id="meeting", decision="revised_commit", amount=240_000,
                                                   decided_at=AS_OF + timedelta(days=1), decided_by="maya"),
               ItemDecision(ref_id="opp-acme-renewal", decision="slipping", decided_at=AS_OF + timedelta(days=1), decided_by="maya"))
        page = agenda_html(session, this_week.id)
    assert "Decisions recorded 2 of 4" in page  # the three commits and the revised number
    assert "<strong>Revised commit:</strong> $240K" in page and "last week: $300K" in page and "(−$60K week over week)" in page
    assert "<strong>revised commit</strong> $240K" in page and "<strong>slipping</strong>" in page
