"""The Phase-2 self-assessment on a seeded data set, on SQLite and PostgreSQL: each answer and the figure behind it."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core import config_store
from core.seed import load_default_config, load_demo_directory
from models.common import TimelineEntry
from models.rituals import Agenda
from models.scoring import ScoreWeightsIn
from models.signals import SignalDetail
from models.tables import (
    Account, AgendaRow, FlywheelProposalRow, HandoffAuditRow, HandoffRow, NotificationRow, PlayRunRow, SignalRow, TaskRow,
)
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


def paged(session, sid, *owners):
    for owner in owners:
        session.add(NotificationRow(id=f"n-{sid}-{owner}", user_id=owner, at=AGO, kind="page", subject_type="signal", subject_id=sid,
                                    text=f"New signal {sid}"))


def save_run(session, rid, owner, outcome, steps_done):
    """A Renewal Save that ended last week: its five steps, the first `steps_done` of them done, owned by `owner`."""
    keys = ["diagnose", "exec_sponsor", "save_plan", "commercial_offer", "renewal_decision"]
    steps = [{"key": k, "owner_id": owner, "status": "done" if n < steps_done else "ready"} for n, k in enumerate(keys)]
    session.add(PlayRunRow(id=rid, workflow_id=f"play-{rid}", play_key="renewal_save", play_version=2, account_id="acme",
                           status="completed", outcome=outcome, started_at=AGO - timedelta(days=14), updated_at=AGO,
                           state={"steps": steps, "ended_at": AGO.isoformat()}))


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
    paged(session, "s1", "lee", "alex"), paged(session, "s2", "casey"), paged(session, "s3", "lee")  # s4's owner never paged
    save_run(session, "run-2", "casey", "renewed", 5)
    save_run(session, "run-3", "dana", "churned", 2)  # exited after two steps: the sequence was not followed
    session.add(PlayRunRow(id="run-1", workflow_id="play-run-1", play_key="renewal_save", play_version=1, account_id="globex",
                           status="running", stuck_step_key="diagnose", stuck_owner_id="casey", stuck_since=AGO,
                           stuck_due_at=AGO + timedelta(days=2), started_at=AGO, updated_at=NOW, state={}))
    for n in range(10):
        status = "overridden" if n == 9 else "accepted"
        session.add(HandoffRow(id=f"h{n}", workflow_id=f"handoff-h{n}", kind="ae_to_csm", account_id="acme", status=status,
                               from_user_id="alex", to_user_id="casey", created_at=AGO, updated_at=NOW, state={}))
        if n < 9:  # h9's audit is missing
            session.add(HandoffAuditRow(handoff_id=f"h{n}", seq=1, at=AGO, actor_id="alex", action="submitted", from_user_id="alex",
                                        to_user_id="casey", fields_transferred=["pain"]))
    meeting = NOW + timedelta(hours=1)
    body = Agenda(id="agd-1", ritual_key="signal_triage", ritual_name="Monday signal triage", kind="signal_triage", motion="academic",
                  timezone="UTC", meeting_at=meeting, built_at=NOW - timedelta(days=1), config_version=1,
                  scoring="severity + ARR + SLA state")
    session.add(AgendaRow(id="agd-1", ritual_key="signal_triage", kind="signal_triage", motion="academic", meeting_at=meeting,
                          built_at=NOW - timedelta(days=1), workflow_id="ritual-x", config_version=1,
                          body=body.model_dump(mode="json", exclude={"action_items"})))
    config_store.append(session, SCORE_WEIGHTS, ScoreWeightsIn().model_dump(mode="json"), created_by="rory")
    session.add(FlywheelProposalRow(id="fly-1", status="approved", created_at=NOW - timedelta(days=10), period_start=NOW - timedelta(days=100),
                                    period_end=NOW - timedelta(days=10), weights_version=1, applied_version=2, decided_by="rory",
                                    decided_at=NOW - timedelta(days=9), body={"summary": "s", "changes": [], "history": [],
                                                                              "evidence": {"plays": 12, "tasks": 3, "bands": [], "components": []}}))
    session.commit()


def test_the_fifteen_questions_as_written_answered_from_the_books(any_db):
    with Session(any_db) as session:
        seed_books(session)
        result = assess(session, NOW)
    assert [(g.key, len(g.questions)) for g in result.groups] == [
        ("seam_01", 3), ("seam_02", 3), ("seam_03", 3), ("seam_04", 2), ("cadence", 2), ("multi_product", 1), ("flywheel", 1)]
    answers = {q.id: q for g in result.groups for q in g.questions}
    assert list(answers) == [f"q{n:02d}" for n in range(1, 16)]
    assert answers["q01"].question == "Every active signal has an explicit named signal owner, separate from the account owner."
    assert answers["q09"].question.startswith("Your weakest rep can execute the same save sequence your best rep ran last quarter")
    assert answers["q15"].question.startswith("Play outcomes feed back into scoring thresholds on a governed cadence")
    assert [k for k, a in answers.items() if a.answer == "no"] == ["q02", "q03", "q09", "q11", "q12", "q14"]
    assert (result.yes, result.total) == (9, 15) and result.summary == "9 of 15 yes; no: q02, q03, q09, q11, q12, q14"

    def figure(qid):
        a = answers[qid]
        return a.numerator, a.denominator, a.figure

    assert figure("q01")[:2] == (3, 3) and "3 of them owned by someone other than the account's AE" in answers["q01"].figure
    assert figure("q02")[:2] == (3, 4) and "renewal_risk critical PT4H" in answers["q02"].figure  # s4's owner was never paged
    assert figure("q03")[:2] == (1, 2) and "1 escalation(s) recorded by the signal workflows" in answers["q03"].figure
    assert figure("q04")[:2] == (2, 2)
    assert figure("q05")[:2] == (9, 9)  # every family the routing matrix routes has templates
    assert figure("q06")[:2] == (1, 1) and '"done" is refused' in answers["q06"].figure
    assert figure("q07")[:2] == (3, 3) and "save: Renewal Save v2, 5 steps" in answers["q07"].figure
    assert figure("q08")[0] == figure("q08")[1] == 6
    assert figure("q09")[:2] == (1, 2) and "save rate from 0% (dana, weakest) to 100% (casey, best)" in answers["q09"].figure
    assert figure("q10")[:2] == (9, 10) and "1 manager override" in answers["q10"].figure and "ae_to_csm 6" in answers["q10"].figure
    assert figure("q11")[:2] == (9, 10)
    assert figure("q12")[:2] == (1, 2)  # the academic Monday triage was built, the credentialed one was not
    # the shipped rollout runs Monday triage only: one ritual reports, from its baseline weeks
    assert figure("q13")[:2] == (1, 1) and answers["q13"].value == 23.0 and "overall 23% on time (23 of 100)" in answers["q13"].figure
    assert figure("q14")[:2] == (2, 3) and "(academic, credentialed)" in answers["q14"].figure  # corporate has no thresholds of its own
    assert answers["q15"].value == 10 and "from 12 play and 3 task outcome(s)" in answers["q15"].figure
    assert figure("q15")[:2] == (1, 1) and "1 approved" in answers["q15"].figure

    # the no's counted by group, and the punch list: most no's first, then what they leave undone, then upstream first
    assert {g.key: g.no for g in result.groups} == {"seam_01": 2, "seam_02": 0, "seam_03": 1, "seam_04": 1, "cadence": 1,
                                                    "multi_product": 1, "flywheel": 0}
    punch = [(e.group, e.no, e.shortfall, e.questions) for e in result.punch_list]
    assert punch == [("seam_01", 2, 2, ["q02", "q03"]), ("seam_03", 1, 1, ["q09"]), ("seam_04", 1, 1, ["q11"]),
                     ("cadence", 1, 1, ["q12"]), ("multi_product", 1, 1, ["q14"])]
    assert result.punch_list[0].first_fix == answers["q02"].question


def test_one_reps_saves_do_not_show_the_weakest_rep_can_run_the_sequence(any_db):
    with Session(any_db) as session:
        load_default_config(session)
        save_run(session, "run-a", "casey", "renewed", 5)
        save_run(session, "run-b", "casey", "renewed", 5)
        session.commit()
        alone = assess(session, NOW)
        save_run(session, "run-c", "dana", "churned", 5)  # the weakest rep ran every step too, and lost it
        session.commit()
        two = assess(session, NOW)
    answer = {q.id: q for g in alone.groups for q in g.questions}["q09"]
    assert answer.answer == "no" and answer.figure.endswith("needs runs by at least two owners")
    answer = {q.id: q for g in two.groups for q in g.questions}["q09"]
    assert answer.answer == "yes" and (answer.numerator, answer.denominator) == (2, 2)


def test_nothing_to_judge_is_answered_no(any_db):
    with Session(any_db) as session:
        load_default_config(session)
        result = assess(session, NOW)
    answers = {q.id: q for g in result.groups for q in g.questions}
    assert answers["q01"].answer == "no" and answers["q01"].figure == "nothing to judge yet: no active signal"
    assert answers["q15"].figure == "nothing to judge yet: the flywheel has not run"
    assert [e.group for e in result.punch_list][0] == "seam_01" and result.rule.startswith("A question with nothing to judge yet is answered no")
