"""The Phase-2 self-assessment on a seeded data set, on SQLite and PostgreSQL: each answer and the figure behind it."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core import config_store
from core.seed import load_default_config, load_demo_directory
from models.common import TimelineEntry
from models.rituals import Agenda
from models.scoring import ScoreWeightsIn
from models.signals import SignalDetail
from models.tables import Account, AgendaRow, FlywheelProposalRow, HandoffRow, PlayRunRow, SignalRow, TaskRow
from models.tasks import Task
from services.assessment import assess
from services.layer_config import SCORE_WEIGHTS

NOW = datetime.now(UTC).replace(microsecond=0)
AGO = NOW - timedelta(days=3)


def signal(session, sid, family, severity, account, status, owners, timeline=(), acknowledged_by=None, tasks=()):
    detail = SignalDetail(id=sid, family=family, severity=severity, account_id=account, status=status, owners=owners,
                          acknowledged_by=acknowledged_by, sla_due_at=AGO + timedelta(hours=4), routing_version=1, created_at=AGO,
                          tasks=list(tasks), timeline=[TimelineEntry(at=AGO, type="created")] + [
                              TimelineEntry(at=AGO + timedelta(hours=4), type=t, actor=None) for t in timeline])
    session.add(SignalRow(id=sid, workflow_id=f"signal-{sid}", family=family, severity=severity, account_id=account, status=status,
                          owner_ids=owners, acknowledged_by=acknowledged_by, sla_due_at=detail.sla_due_at, routing_version=1,
                          created_at=AGO, updated_at=NOW, state=detail.model_dump(mode="json")))
    for task in tasks:
        session.add(TaskRow(id=task.id, signal_id=sid, account_id=account, owner_id=task.owner_id, outcome=task.outcome,
                            is_open=not task.is_final, due_at=task.due_at, updated_at=NOW, state=task.model_dump(mode="json")))


def task(tid, sid, due_at, outcome=None, outcome_at=None, play_run_id=None):
    return Task(id=tid, signal_id=sid, template_key="t", title="t", owner_id="casey", due_at=due_at, outcome=outcome,
                outcome_at=outcome_at, play_run_id=play_run_id)


def seed_books(session: Session) -> None:
    load_default_config(session)
    load_demo_directory(session, "assessment-admin-token-0123")  # with the rituals' 23% baseline
    session.add(Account(id="umbrella", name="Umbrella Corp", arr=70_000, motion="corporate", team={}))  # no ritual segment
    signal(session, "s1", "renewal_risk", "critical", "acme", "escalated", ["lee", "alex"], timeline=["sla_lapsed", "escalated"])
    signal(session, "s2", "adoption_decay", "warning", "initech", "resolved", ["casey"], acknowledged_by="casey",
           tasks=[task("s2-t1", "s2", AGO + timedelta(days=1), "renewed", AGO + timedelta(hours=20))])
    signal(session, "s3", "renewal_risk", "critical", "globex", "acknowledged", ["lee"], acknowledged_by="lee",
           tasks=[task("s3-t1", "s3", AGO + timedelta(days=2), play_run_id="run-1")])
    signal(session, "s4", "nps_decline", "info", "acme", "open", ["casey"], timeline=["sla_lapsed"])  # lapsed, never escalated
    session.add(PlayRunRow(id="run-1", workflow_id="play-run-1", play_key="renewal_save", play_version=1, account_id="globex",
                           status="running", stuck_step_key="diagnose", stuck_owner_id="casey", stuck_since=AGO,
                           stuck_due_at=AGO + timedelta(days=2), started_at=AGO, updated_at=NOW, state={}))
    for n in range(10):
        status = "overridden" if n == 9 else "accepted"
        session.add(HandoffRow(id=f"h{n}", workflow_id=f"handoff-h{n}", kind="ae_to_csm", account_id="acme", status=status,
                               from_user_id="alex", to_user_id="casey", created_at=AGO, updated_at=NOW, state={}))
    meeting = NOW + timedelta(hours=1)
    body = Agenda(id="agd-1", ritual_key="signal_triage", ritual_name="Monday signal triage", kind="signal_triage", motion="academic",
                  timezone="UTC", meeting_at=meeting, built_at=NOW - timedelta(days=1), config_version=1)
    session.add(AgendaRow(id="agd-1", ritual_key="signal_triage", kind="signal_triage", motion="academic", meeting_at=meeting,
                          built_at=NOW - timedelta(days=1), workflow_id="ritual-x", config_version=1,
                          body=body.model_dump(mode="json", exclude={"action_items"})))
    config_store.append(session, SCORE_WEIGHTS, ScoreWeightsIn().model_dump(mode="json"), created_by="rory")
    session.add(FlywheelProposalRow(id="fly-1", status="approved", created_at=NOW - timedelta(days=10), period_start=NOW - timedelta(days=100),
                                    period_end=NOW - timedelta(days=10), weights_version=1, applied_version=2, decided_by="rory",
                                    decided_at=NOW - timedelta(days=9), body={"summary": "s", "changes": [], "history": [],
                                                                              "evidence": {"plays": 12, "tasks": 3, "bands": [], "components": []}}))
    session.commit()


def test_the_fifteen_questions_answered_from_the_books(any_db):
    with Session(any_db) as session:
        seed_books(session)
        result = assess(session, NOW)
    assert [g.key for g in result.groups] == ["seam_01", "seam_02", "seam_03", "seam_04", "cadence", "multi_product", "flywheel"]
    answers = {q.id: q for g in result.groups for q in g.questions}
    assert list(answers) == [f"q{n:02d}" for n in range(1, 16)]
    assert [k for k, a in answers.items() if a.answer == "no"] == ["q03", "q09", "q10", "q11", "q12", "q13"]
    assert (result.yes, result.total) == (9, 15) and result.summary == "9 of 15 yes; no: q03, q09, q10, q11, q12, q13"

    def figure(qid):
        a = answers[qid]
        return a.numerator, a.denominator, a.figure

    assert figure("q01") == (3, 3, "3 of 3 active signals have a named owner (100%)")
    assert figure("q03")[:2] == (1, 2) and "1 escalation(s) recorded by the signal workflows" in answers["q03"].figure
    assert figure("q04")[:2] == (2, 2)
    assert figure("q05")[:2] == (1, 2) and answers["q05"].value == 50.0  # s3-t1 is past due without an outcome
    assert figure("q06")[:2] == (1, 1)
    assert figure("q07")[:2] == (1, 1) and "1 of them overdue" in answers["q07"].figure
    assert figure("q08")[:2] == (9, 10) and "1 manager override" in answers["q08"].figure
    assert figure("q09")[:2] == (0, 1)
    assert figure("q10")[:2] == (1, 10)  # one of ten ritual × motion segments built its agenda this week
    assert answers["q11"].value == 23.0 and figure("q11")[:2] == (23, 100)  # the seeded baseline
    assert figure("q12")[:2] == (2, 3) and "(academic, credentialed)" in answers["q12"].figure  # corporate has no thresholds of its own
    assert figure("q13")[:2] == (3, 4)  # Umbrella's corporate motion has no ritual segment
    assert answers["q14"].value == 10 and "from 12 play and 3 task outcome(s)" in answers["q14"].figure
    assert figure("q15")[:2] == (1, 1) and "1 approved" in answers["q15"].figure


def test_nothing_to_judge_is_answered_no(any_db):
    with Session(any_db) as session:
        load_default_config(session)
        result = assess(session, NOW)
    answers = {q.id: q for g in result.groups for q in g.questions}
    assert answers["q01"].answer == "no" and answers["q01"].figure == "nothing to judge yet: no active signal"
    assert answers["q14"].figure == "nothing to judge yet: the flywheel has not run"
    assert result.yes == 0 and result.rule.startswith("A question with nothing to judge yet is answered no")
