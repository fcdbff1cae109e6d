"""The Phase-2 self-assessment: the fifteen questions as the playbook writes them, grouped 3/3/3/2/2/1/1 (seams 01–04,
cadence, multi-product, flywheel), each answered yes or no from the data Pillar holds, with the figure behind it; the
no's counted by group, and the punch list ranked by operational debt. A question with nothing to judge yet is
answered "no": what has not been shown is not claimed."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from core import config_store
from models.assessment import Assessment, AssessmentAnswer, AssessmentGroup, PunchListEntry
from models.flywheel import ProposalStatus
from models.plays import RunStatus
from models.rituals import ALL_MOTIONS
from models.signals import SignalDetail, SignalStatus
from models.tables import (
    Account, AgendaRow, ConfigVersion, FlywheelProposalRow, HandoffAuditRow, HandoffRow, NotificationRow, PlayRunRow, SignalRow, TaskRow,
)
from models.tasks import Outcome
from plays import load_library
from services.action_items import completion_metrics
from services.handoffs import current_specs
from services.layer_config import SCORE_WEIGHTS, current_definitions
from services.rituals import RITUALS, config_out
from services.task_templates import current_templates

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
        self.runs = session.exec(select(PlayRunRow)).all()
        self.handoffs = session.exec(select(HandoffRow)).all()
        self.accounts = session.exec(select(Account)).all()
        self.account_owner = {a.id: (a.team or {}).get("ae") for a in self.accounts}
        self.library = load_library()


# --- seam 01 ------------------------------------------------------------------------------------------------


def q01(d: Data) -> AssessmentAnswer:
    active = [s for s in d.signals if s.status != SignalStatus.resolved]
    other = sum(any(o != d.account_owner.get(s.account_id) for o in s.owners) for s in active)
    return _share("q01", "Every active signal has an explicit named signal owner, separate from the account owner.",
                  sum(bool(s.owners) for s in active), len(active), "active signals have a named owner", "no active signal",
                  extra=f"the owner is the signal's own (routed by family and severity); {other} of them owned by someone other "
                        f"than the account's AE" if active else "")


def q02(d: Data) -> AssessmentAnswer:
    routing = config_store.latest(d.session, config_store.ROUTING)
    ids = [s.id for s in d.signals]
    paged = set(d.session.exec(select(NotificationRow.subject_id, NotificationRow.user_id).where(
        NotificationRow.kind == "page", NotificationRow.subject_type == "signal", NotificationRow.subject_id.in_(ids)))) if ids else set()
    shown = sum(bool(s.sla_due_at and s.routing_version) and all((s.id, o) in paged for o in s.owners) for s in d.signals)
    rules = routing.body.get("rules", []) if routing else []
    slas = ", ".join(f"{r['family']} {r['severity']} {r['sla']}" for r in rules[:3])
    return _share("q02", "There is a documented SLA for signal response, by severity, that is visible to the owner at the moment "
                  "of assignment.", shown, len(d.signals),
                  "signals paged every owner at assignment with an SLA due time from the routing matrix", "no signal yet",
                  extra=f"routing matrix v{routing.version}: {len(rules)} family × severity rules, each with its SLA ({slas}, …)"
                        if routing else "no routing matrix")


def q03(d: Data) -> AssessmentAnswer:
    lapsed = [s for s in d.signals if any(e.type == "sla_lapsed" for e in s.timeline)]
    escalated = [s for s in lapsed if any(e.type in ("escalated", "escalation_unassigned") and e.actor is None for e in s.timeline)]
    recorded = sum(1 for s in d.signals for e in s.timeline if e.type == "escalated" and e.actor is None)
    return _share("q03", "Unacknowledged signals escalate automatically after the SLA lapses, not when someone notices.",
                  len(escalated), len(lapsed), "signals whose SLA lapsed escalated without anyone acting", "no SLA has lapsed",
                  extra=f"{recorded} escalation(s) recorded by the signal workflows")


# --- seam 02 ------------------------------------------------------------------------------------------------


def q04(d: Data) -> AssessmentAnswer:
    acknowledged = [s for s in d.signals if s.acknowledged_by]
    tasked = sum(any(t.owner_id and t.due_at for t in s.tasks) for s in acknowledged)
    return _share("q04", "Every acknowledged signal produces at least one task with an owner, a due date and an outcome field.",
                  tasked, len(acknowledged), "acknowledged signals have a task with owner, due date and outcome field",
                  "no signal acknowledged")


def q05(d: Data) -> AssessmentAnswer:
    routing = config_store.latest(d.session, config_store.ROUTING)
    families = sorted({r["family"] for r in routing.body.get("rules", [])}) if routing else []
    library = current_templates(d.session)
    covered = [f for f in families if library.candidates(f, None)]
    missing = [f for f in families if f not in covered]
    return _share("q05", "Task templates exist per signal type so the owner doesn't improvise the next move.", len(covered),
                  len(families), f"signal families in the routing matrix have task templates (library v{library.version})",
                  "no routing matrix", extra=f"none for {', '.join(missing)}" if missing else "")


def q06(d: Data) -> AssessmentAnswer:
    outcomes = [o for o in d.session.exec(select(TaskRow.outcome).where(TaskRow.outcome.is_not(None)))]
    valid = {o.value for o in Outcome}
    return _share("q06", "Task outcome is structured: renewed, churned, expanded, blocked or reassigned. \"Done\" is not a valid value.",
                  sum(o in valid for o in outcomes), len(outcomes), "task outcomes recorded are one of the structured values",
                  "no task outcome recorded", extra=f"accepted: {', '.join(sorted(valid))}; \"done\" is refused")


# --- seam 03 ------------------------------------------------------------------------------------------------

NAMED_PLAYS = {"save": "renewal_save", "expansion": "expansion", "deal rescue": "deal_rescue"}
QUARTER = timedelta(days=90)


def q07(d: Data) -> AssessmentAnswer:
    named = {kind: d.library.get(key) for kind, key in NAMED_PLAYS.items()}
    sequences = [p for p in named.values() if p is not None and len(p.steps) > 1]
    shown = "; ".join(f"{kind}: {p.name} v{p.version}, {len(p.steps)} steps" if p else f"{kind}: none"
                      for kind, p in named.items())
    runs = sum(r.play_key in NAMED_PLAYS.values() for r in d.runs)
    return _share("q07", "Save plays, expansion plays and deal-rescue plays exist as named sequences, not as one-off actions.",
                  len(sequences), len(named), "of save, expansion and deal rescue are named multi-step plays in the library",
                  "no play library", extra=f"{shown}; {runs} run(s) of them started")


def q08(d: Data) -> AssessmentAnswer:
    plays = list(d.library.values())
    whole = [p for p in plays if p.entry.families and p.exit_outcomes and any(s.depends_on for s in p.steps)]
    lacking = [p.key for p in plays if p not in whole]
    return _share("q08", "Each play has entry criteria, a task sequence with dependencies, and exit criteria.", len(whole),
                  len(plays), "library plays have entry families, dependent steps and exit outcomes", "no play library",
                  extra=f"lacking: {', '.join(lacking)}" if lacking else "")


def _run_owner(run: PlayRunRow) -> str | None:
    steps = run.state.get("steps", [])
    return steps[0].get("owner_id") if steps else None


def q09(d: Data) -> AssessmentAnswer:
    """Every owner who ran the Renewal Save to an outcome last quarter did every step the library sets: the sequence
    is the library's, not the best rep's memory. Judged across at least two owners."""
    ended = [r for r in d.runs if r.play_key == NAMED_PLAYS["save"] and r.status == RunStatus.completed.value and r.outcome
             and r.updated_at >= d.as_of - QUARTER]
    by_owner: dict[str, list[PlayRunRow]] = {}
    for run in ended:
        by_owner.setdefault(_run_owner(run) or "unassigned", []).append(run)
    full = [o for o, runs in by_owner.items() if all(s.get("status") == "done" for r in runs for s in r.state.get("steps", []))]
    rates = sorted((round(100 * sum(r.outcome in ("renewed", "expanded") for r in runs) / len(runs)), o) for o, runs in by_owner.items())
    spread = f"save rate from {rates[0][0]}% ({rates[0][1]}, weakest) to {rates[-1][0]}% ({rates[-1][1]}, best)" if rates else ""
    answer = _share("q09", "Your weakest rep can execute the same save sequence your best rep ran last quarter, using the library.",
                    len(full), len(by_owner), "owners who ran the Renewal Save to an outcome in the last 90 days did every library step",
                    "no Renewal Save ended in the last 90 days", extra=f"{len(ended)} run(s); {spread}" if ended else "")
    if len(by_owner) < 2:  # one rep's success says nothing about the weakest
        answer.answer = "no"
        answer.figure += "; needs runs by at least two owners" if ended else ""
    return answer


# --- seam 04 ------------------------------------------------------------------------------------------------


def q10(d: Data) -> AssessmentAnswer:
    specs = current_specs(d.session)
    done = [h for h in d.handoffs if h.status in ("accepted", "overridden")]
    accepted = sum(h.status == "accepted" for h in done)
    kinds = ", ".join(f"{s.kind} {len(s.required_fields)}" for s in specs.specs)
    return _share("q10", "Handoffs between teams require mandatory context fields to be filled before the transition is allowed.",
                  accepted, len(done), "completed handoffs were accepted with every required field", "no handoff completed",
                  threshold=90, extra=f"required fields by kind (v{specs.version}): {kinds}"
                                      + (f"; {len(done) - accepted} manager override(s)" if done else ""))


def q11(d: Data) -> AssessmentAnswer:
    ids = [h.id for h in d.handoffs]
    audited = set(d.session.exec(select(HandoffAuditRow.handoff_id).where(HandoffAuditRow.handoff_id.in_(ids)))) if ids else set()
    rows = d.session.exec(select(func.count()).select_from(HandoffAuditRow).where(HandoffAuditRow.handoff_id.in_(ids))).one() if ids else 0
    return _share("q11", "An audit log exists for every handoff: sender, receiver, timestamp, fields transferred.", len(audited),
                  len(ids), "handoffs have audit rows (sender, receiver, time, fields transferred)", "no handoff yet",
                  extra=f"{rows} audit row(s), append-only")


# --- cadence ------------------------------------------------------------------------------------------------


def _rituals(d: Data):
    row = config_store.latest(d.session, RITUALS)
    return config_out(row) if row else None


def q12(d: Data) -> AssessmentAnswer:
    config = _rituals(d)
    motions = [m for r in (config.rituals if config else []) if r.enabled and r.kind == "signal_triage" for m in r.motions]
    week_ago = d.as_of - timedelta(days=7)
    built = {a.motion for a in d.session.exec(
        select(AgendaRow).where(AgendaRow.kind == "signal_triage", AgendaRow.source == "workflow", AgendaRow.built_at >= week_ago,
                                AgendaRow.built_at <= d.as_of)) if a.built_at < a.meeting_at and a.body.get("scoring")}
    return _share("q12", "Monday triage has a scored, pre-populated agenda. No round-robin.", sum(m in built for m in motions),
                  len(motions), "Monday triage segments (one per motion) got a scored agenda built before the meeting in the last 7 days",
                  "no Monday triage configured")


def q13(d: Data) -> AssessmentAnswer:
    config = _rituals(d)
    enabled = {r.key for r in (config.rituals if config else []) if r.enabled}
    metrics = completion_metrics(d.session, d.as_of, weeks=COMPLETION_WEEKS)
    reported = [r for r in metrics.rituals if r.ritual_key in enabled and r.completion_rate_pct is not None]
    overall = metrics.overall
    on_time = sum(w.completed_on_time for w in overall.weeks)
    judged = sum(w.created - w.pending for w in overall.weeks)
    rates = ", ".join(f"{r.ritual_key} {r.completion_rate_pct:g}%" for r in reported)
    answer = _share("q13", "Action-item completion rate from each cadence ritual is a number you can report.", len(reported),
                    len(enabled), f"rituals have a completion rate over the last {COMPLETION_WEEKS} ISO weeks", "no ritual configured",
                    extra=(f"overall {overall.completion_rate_pct:g}% on time ({on_time} of {judged}); {rates}" if judged else ""))
    return answer.model_copy(update={"value": overall.completion_rate_pct})


# --- multi-product ------------------------------------------------------------------------------------------


def q14(d: Data) -> AssessmentAnswer:
    motions = sorted({a.motion for a in d.accounts if a.motion})
    definitions = current_definitions(d.session).definitions
    overridden = {m for df in definitions for m in df.motion_overrides}
    with_overrides = sum(bool(df.motion_overrides) for df in definitions)
    covered = [m for m in motions if m in overridden]
    return _share("q14", "Signal thresholds are product-specific even when the signal families are shared.", len(covered),
                  len(motions), "motions with accounts have their own thresholds", "no account has a motion",
                  extra=f"{with_overrides} signal definition(s) carry motion overrides ({', '.join(sorted(overridden)) or 'none'})")


# --- flywheel -----------------------------------------------------------------------------------------------


def q15(d: Data) -> AssessmentAnswer:
    """Monthly, from outcomes (a proposal in the last 35 days), and governed (every applied change names its approver and
    the score-weights version it made, and at least one was decided)."""
    last = d.session.exec(select(FlywheelProposalRow).where(FlywheelProposalRow.created_at <= d.as_of)
                          .order_by(FlywheelProposalRow.created_at.desc()).limit(1)).first()
    recent = last is not None and last.created_at >= d.as_of - timedelta(days=35)
    decided = d.session.exec(select(FlywheelProposalRow).where(FlywheelProposalRow.status.in_(
        [ProposalStatus.approved.value, ProposalStatus.rejected.value, ProposalStatus.reverted.value]))).all()
    versions = set(d.session.exec(select(ConfigVersion.version).where(ConfigVersion.kind == SCORE_WEIGHTS)))
    applied = [p for p in decided if p.status in (ProposalStatus.approved.value, ProposalStatus.reverted.value)]
    traced = [p for p in applied if p.decided_by and p.applied_version in versions
              and (p.status != ProposalStatus.reverted.value or p.reverted_version in versions)]
    if last is None:
        figure = "nothing to judge yet: the flywheel has not run"
    else:
        evidence = last.body.get("evidence", {})
        counts = {s: sum(p.status == s for p in decided) for s in ("approved", "rejected", "reverted")}
        figure = (f"last run {last.created_at:%Y-%m-%d} ({(d.as_of - last.created_at).days} days ago): {last.status}, from "
                  f"{evidence.get('plays', 0)} play and {evidence.get('tasks', 0)} task outcome(s); {len(decided)} proposal(s) "
                  f"decided by revops ({counts['approved']} approved, {counts['rejected']} rejected, {counts['reverted']} reverted); "
                  f"{len(traced)} of {len(applied)} applied one(s) name their approver and score-weights version")
    governed = bool(decided) and len(traced) == len(applied)
    return AssessmentAnswer(id="q15", question="Play outcomes feed back into scoring thresholds on a governed cadence so the system "
                            "gets smarter over time.", answer="yes" if recent and governed else "no", figure=figure,
                            value=(d.as_of - last.created_at).days if last else None, numerator=len(traced), denominator=len(applied))


QUESTIONS = {
    "seam_01": [q01, q02, q03], "seam_02": [q04, q05, q06], "seam_03": [q07, q08, q09], "seam_04": [q10, q11],
    "cadence": [q12, q13], "multi_product": [q14], "flywheel": [q15],
}


def _shortfall(answer: AssessmentAnswer) -> int:
    """What a no leaves undone, in the things it counts (a no with nothing to judge counts one: the capability)."""
    if answer.answer == "yes":
        return 0
    if answer.denominator:
        return max(1, answer.denominator - (answer.numerator or 0))
    return 1


def punch_list(groups: list[AssessmentGroup]) -> list[PunchListEntry]:
    """The no's counted by group, most no's first (the most operational debt); ties by what they leave undone, then
    upstream first: a later seam leans on the earlier ones."""
    entries = []
    for order, group in enumerate(groups):
        nos = [q for q in group.questions if q.answer == "no"]
        if nos:
            entries.append((order, PunchListEntry(group=group.key, title=group.title, no=len(nos), shortfall=sum(map(_shortfall, nos)),
                                                  questions=[q.id for q in nos], first_fix=nos[0].question)))
    entries.sort(key=lambda e: (-e[1].no, -e[1].shortfall, e[0]))
    return [e for _, e in entries]


def assess(session: Session, as_of: datetime | None = None) -> Assessment:
    data = Data(session, as_of or datetime.now(UTC))
    groups = []
    for key, title in GROUPS:
        questions = [q(data) for q in QUESTIONS[key]]
        groups.append(AssessmentGroup(key=key, title=title, questions=questions, no=sum(q.answer == "no" for q in questions)))
    answers = [q for g in groups for q in g.questions]
    yes = sum(a.answer == "yes" for a in answers)
    no = [a.id for a in answers if a.answer == "no"]
    return Assessment(as_of=data.as_of, yes=yes, total=len(answers), rule=RULE, groups=groups, punch_list=punch_list(groups),
                      summary=f"{yes} of {len(answers)} yes" + (f"; no: {', '.join(no)}" if no else ""))
