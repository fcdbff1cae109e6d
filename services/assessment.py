"""The Phase-2 self-assessment: fifteen questions from DESIGN.md, grouped by seam 01–04, cadence, multi-product and
flywheel, each answered yes or no from the data Pillar holds, with the figure behind it. A question with nothing
to judge yet is answered "no": what has not been shown is not claimed."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from core import config_store
from models.assessment import Assessment, AssessmentAnswer, AssessmentGroup
from models.flywheel import ProposalStatus
from models.plays import RunStatus
from models.rituals import ALL_MOTIONS
from models.signals import SignalDetail, SignalStatus
from models.tables import Account, AgendaRow, ConfigVersion, FlywheelProposalRow, HandoffRow, PlayRunRow, SignalRow, TaskRow
from models.tasks import Task
from services.action_items import completion_metrics
from services.layer_config import SCORE_WEIGHTS, current_definitions
from services.rituals import RITUALS, config_out
from services.signals import signal_id_for

COMPLETION_WEEKS = 8
RULE = "A question with nothing to judge yet is answered no: what has not been shown is not claimed."
GROUPS = [
    ("seam_01", "Seam 01 — Signal → Owner"),
    ("seam_02", "Seam 02 — Owner → Task"),
    ("seam_03", "Seam 03 — Task → Play"),
    ("seam_04", "Seam 04 — Play → Handoff"),
    ("cadence", "Cadence — the weekly rituals"),
    ("multi_product", "Multi-product — motions"),
    ("flywheel", "Flywheel — outcomes back into scoring"),
]


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _share(qid: str, question: str, part: int, whole: int, what: str, none: str, threshold: float = 100.0,
           extra: str = "") -> AssessmentAnswer:
    """`part` of `whole` `what`; yes when the share reaches `threshold` and there is something to judge (else `none`)."""
    pct = _pct(part, whole)
    figure = f"{part} of {whole} {what} ({pct:g}%)" if whole else f"nothing to judge yet: {none}"
    return AssessmentAnswer(id=qid, question=question, answer="yes" if whole and pct >= threshold else "no",
                            figure=figure + (f"; {extra}" if extra else ""), value=pct, numerator=part, denominator=whole)


class Data:
    """What the questions read, loaded once."""

    def __init__(self, session: Session, as_of: datetime) -> None:
        self.session, self.as_of = session, as_of
        self.signals = [SignalDetail.model_validate(r.state) for r in session.exec(select(SignalRow))]
        self.tasks = [Task.model_validate(r.state) for r in session.exec(select(TaskRow))]
        self.runs = session.exec(select(PlayRunRow)).all()
        self.handoffs = session.exec(select(HandoffRow)).all()
        self.accounts = session.exec(select(Account)).all()


# --- seam 01 ------------------------------------------------------------------------------------------------


def q01(d: Data) -> AssessmentAnswer:
    active = [s for s in d.signals if s.status != SignalStatus.resolved]
    return _share("q01", "Does every active signal have one named owner?",
                  sum(bool(s.owners) for s in active), len(active), "active signals have a named owner", "no active signal")


def q02(d: Data) -> AssessmentAnswer:
    routing = config_store.latest(d.session, config_store.ROUTING)
    ok = sum(bool(s.sla_due_at and s.routing_version) for s in d.signals)
    return _share("q02", "Does every signal carry an SLA from a versioned routing matrix?", ok, len(d.signals),
                  "signals carry an SLA and the routing version they were routed with", "no signal yet",
                  extra=f"routing matrix at v{routing.version}" if routing else "no routing matrix")


def q03(d: Data) -> AssessmentAnswer:
    lapsed = [s for s in d.signals if any(e.type == "sla_lapsed" for e in s.timeline)]
    escalated = [s for s in lapsed if any(e.type in ("escalated", "escalation_unassigned") and e.actor is None for e in s.timeline)]
    recorded = sum(1 for s in d.signals for e in s.timeline if e.type == "escalated" and e.actor is None)
    return _share("q03", "Does escalation fire by itself when an SLA lapses unacknowledged?", len(escalated), len(lapsed),
                  "signals whose SLA lapsed escalated without anyone acting", "no SLA has lapsed",
                  extra=f"{recorded} escalation(s) recorded by the signal workflows")


# --- seam 02 ------------------------------------------------------------------------------------------------


def q04(d: Data) -> AssessmentAnswer:
    acknowledged = [s for s in d.signals if s.acknowledged_by]
    return _share("q04", "Does every acknowledged signal produce at least one task?", sum(bool(s.tasks) for s in acknowledged),
                  len(acknowledged), "acknowledged signals have a task", "no signal acknowledged")


def q05(d: Data) -> AssessmentAnswer:
    due = [t for t in d.tasks if t.due_at <= d.as_of]
    on_time = sum(t.is_final and t.outcome_at is not None and t.outcome_at <= t.due_at for t in due)
    return _share("q05", "Do at least half of the tasks due so far reach a structured, final outcome by their due date?",
                  on_time, len(due), "tasks due by now got a final outcome on time", "no task due yet", threshold=50)


# --- seam 03 ------------------------------------------------------------------------------------------------


def q06(d: Data) -> AssessmentAnswer:
    critical = [s for s in d.signals if s.severity == "critical" and s.acknowledged_by]
    return _share("q06", "Does every acknowledged critical signal run a named play?",
                  sum(any(t.play_run_id for t in s.tasks) for s in critical), len(critical),
                  "acknowledged critical signals run a play", "no critical signal acknowledged")


def q07(d: Data) -> AssessmentAnswer:
    running = [r for r in d.runs if r.status == RunStatus.running.value]
    shown = [r for r in running if r.stuck_step_key and r.stuck_owner_id and r.stuck_since]
    overdue = sum(1 for r in shown if r.stuck_due_at and r.stuck_due_at < d.as_of)
    return _share("q07", "Can a manager see where every running play is stuck (which step, whose, since when)?",
                  len(shown), len(running), "running plays show their waiting step, owner and since when", "no play running",
                  extra=f"{overdue} of them overdue" if running else "")


# --- seam 04 ------------------------------------------------------------------------------------------------


def q08(d: Data) -> AssessmentAnswer:
    done = [h for h in d.handoffs if h.status in ("accepted", "overridden")]
    accepted = sum(h.status == "accepted" for h in done)
    return _share("q08", "Do at least 90% of handoffs cross teams with their mandatory context filled?", accepted, len(done),
                  "completed handoffs were accepted with every required field", "no handoff completed", threshold=90,
                  extra=f"{len(done) - accepted} manager override(s)" if done else "")


def q09(d: Data) -> AssessmentAnswer:
    overridden = [h for h in d.handoffs if h.status == "overridden"]
    ids = {signal_id_for(f"handoff-override-{h.id}") for h in overridden}
    raised = set(d.session.exec(select(SignalRow.id).where(SignalRow.id.in_(ids)))) if ids else set()
    return _share("q09", "Does every manager override of a handoff raise a governance-violation signal?", len(raised),
                  len(overridden), "overrides raised a handoff_governance_violation signal", "no handoff overridden")


# --- cadence ------------------------------------------------------------------------------------------------


def _rituals(d: Data):
    row = config_store.latest(d.session, RITUALS)
    return config_out(row) if row else None


def q10(d: Data) -> AssessmentAnswer:
    config = _rituals(d)
    segments = [(r.key, m) for r in (config.rituals if config else []) if r.enabled for m in r.motions]
    week_ago = d.as_of - timedelta(days=7)
    built = {(a.ritual_key, a.motion) for a in d.session.exec(
        select(AgendaRow).where(AgendaRow.source == "workflow", AgendaRow.built_at >= week_ago, AgendaRow.built_at <= d.as_of))
        if a.built_at < a.meeting_at}
    return _share("q10", "Does every configured ritual build its scored agenda ahead of the meeting, every week?",
                  sum(s in built for s in segments), len(segments),
                  "ritual segments (ritual × motion) built an agenda before their meeting in the last 7 days",
                  "no ritual configured")


def q11(d: Data) -> AssessmentAnswer:
    overall = completion_metrics(d.session, d.as_of, weeks=COMPLETION_WEEKS).overall
    on_time = sum(w.completed_on_time for w in overall.weeks)
    judged = sum(w.created - w.pending for w in overall.weeks)
    rate = overall.completion_rate_pct
    figure = (f"{rate:g}% of the action items due from the last {COMPLETION_WEEKS} ISO weeks' rituals were completed on time ({on_time} of {judged})"
              if judged else f"nothing to judge yet: no action item due from the last {COMPLETION_WEEKS} weeks' rituals")
    return AssessmentAnswer(id="q11", question=f"Is the action-item completion rate above 50% (last {COMPLETION_WEEKS} weeks)?",
                            answer="yes" if rate is not None and rate > 50 else "no", figure=figure, value=rate,
                            numerator=on_time, denominator=judged)


# --- multi-product ------------------------------------------------------------------------------------------


def q12(d: Data) -> AssessmentAnswer:
    motions = sorted({a.motion for a in d.accounts if a.motion})
    definitions = current_definitions(d.session).definitions
    overridden = {m for df in definitions for m in df.motion_overrides}
    with_overrides = sum(bool(df.motion_overrides) for df in definitions)
    covered = [m for m in motions if m in overridden]
    return _share("q12", "Do signal thresholds differ by motion where the buying cycle differs?", len(covered), len(motions),
                  "motions with accounts have their own thresholds", "no account has a motion",
                  extra=f"{with_overrides} signal definition(s) carry motion overrides ({', '.join(sorted(overridden)) or 'none'})")


def q13(d: Data) -> AssessmentAnswer:
    config = _rituals(d)
    enabled = [r for r in (config.rituals if config else []) if r.enabled]
    own = [a for a in d.accounts if a.motion and enabled and all(a.motion in r.motions for r in enabled)]
    shared = sum(1 for r in enabled if ALL_MOTIONS in r.motions)
    return _share("q13", "Does every motion get its own ritual agendas, so one motion cannot drown the other?", len(own),
                  len(d.accounts), "accounts sit in a motion segment of every ritual", "no account",
                  extra=f"{shared} ritual(s) run one agenda for all motions" if shared else "")


# --- flywheel -----------------------------------------------------------------------------------------------


def q14(d: Data) -> AssessmentAnswer:
    last = d.session.exec(select(FlywheelProposalRow).where(FlywheelProposalRow.created_at <= d.as_of)
                          .order_by(FlywheelProposalRow.created_at.desc()).limit(1)).first()
    recent = last is not None and last.created_at >= d.as_of - timedelta(days=35)
    if last is None:
        figure = "nothing to judge yet: the flywheel has not run"
    else:
        evidence = last.body.get("evidence", {})
        figure = (f"last run {last.created_at:%Y-%m-%d}: {last.status}, from {evidence.get('plays', 0)} play and "
                  f"{evidence.get('tasks', 0)} task outcome(s)")
    days = (d.as_of - last.created_at).days if last else None
    return AssessmentAnswer(id="q14", question="Do play and task outcomes feed back into scoring through a monthly proposal?",
                            answer="yes" if recent else "no", figure=figure, value=days)


def q15(d: Data) -> AssessmentAnswer:
    decided = d.session.exec(select(FlywheelProposalRow).where(FlywheelProposalRow.status.in_(
        [ProposalStatus.approved.value, ProposalStatus.rejected.value, ProposalStatus.reverted.value]))).all()
    versions = set(d.session.exec(select(ConfigVersion.version).where(ConfigVersion.kind == SCORE_WEIGHTS)))
    applied = [p for p in decided if p.status in (ProposalStatus.approved.value, ProposalStatus.reverted.value)]
    traced = [p for p in applied if p.decided_by and p.applied_version in versions
              and (p.status != ProposalStatus.reverted.value or p.reverted_version in versions)]
    counts = {s: sum(p.status == s for p in decided) for s in ("approved", "rejected", "reverted")}
    figure = (f"{len(decided)} proposal(s) decided by revops ({counts['approved']} approved, {counts['rejected']} rejected, "
              f"{counts['reverted']} reverted); {len(traced)} of {len(applied)} applied one(s) name their approver and "
              f"score-weights version" if decided else "nothing to judge yet: no proposal has been decided")
    return AssessmentAnswer(id="q15", question="Are threshold changes governed: approved or rejected by revops, versioned, reversible?",
                            answer="yes" if decided and len(traced) == len(applied) else "no", figure=figure,
                            value=len(decided), numerator=len(traced), denominator=len(applied))


QUESTIONS = {
    "seam_01": [q01, q02, q03], "seam_02": [q04, q05], "seam_03": [q06, q07], "seam_04": [q08, q09],
    "cadence": [q10, q11], "multi_product": [q12, q13], "flywheel": [q14, q15],
}


def assess(session: Session, as_of: datetime | None = None) -> Assessment:
    data = Data(session, as_of or datetime.now(UTC))
    groups = [AssessmentGroup(key=key, title=title, questions=[q(data) for q in QUESTIONS[key]]) for key, title in GROUPS]
    answers = [q for g in groups for q in g.questions]
    yes = sum(a.answer == "yes" for a in answers)
    no = [a.id for a in answers if a.answer == "no"]
    return Assessment(as_of=data.as_of, yes=yes, total=len(answers), rule=RULE, groups=groups,
                      summary=f"{yes} of {len(answers)} yes" + (f"; no: {', '.join(no)}" if no else ""))
