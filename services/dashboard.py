"""A leader's dashboard (issue 18 item 3): the book at a glance, each chart's figures as one table (the page draws
it, `/dashboard/<chart>.csv` hands it out). Every figure comes from the service that already computes it, over the
accounts the viewer may see; the self-assessment and the rituals' completion rates are the book's own."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from models.plays import RunStatus
from models.response import Dimension
from models.scoring import RiskTier
from models.signals import SignalStatus
from models.tables import PlayRunRow, SignalRow
from services.action_items import completion_metrics
from services.assessment import assess
from services.response_metrics import csv_text, response_metrics
from services.territory import book_lines
from services.visibility import Viewer, only_visible, resolved

WEEKS = 12
DUE_SOON = timedelta(hours=4)  # an unacknowledged signal due within this is "due soon"
COMPLETION_TARGET = 75.0
SLA_STATES = ("within SLA", "due soon", "breached", "escalated")
HOUR = 3600


@dataclass
class Table:
    """One chart's figures: what the page draws and the CSV holds."""

    key: str
    title: str
    columns: list[str]
    rows: list[list]

    def csv(self) -> str:
        return csv_text(self.columns, self.rows)


def arr_at_risk(session: Session, viewer: Viewer | None) -> Table:
    """ARR of the accounts whose latest tier counts as at risk (the cost model's at_risk_tiers), by motion and tier."""
    sums: dict[tuple[str, str], float] = {}
    for line in book_lines(session, viewer):
        if line.at_risk:
            key = (line.account.motion or "no motion", line.tier.value)
            sums[key] = sums.get(key, 0) + line.account.arr
    order = {t.value: i for i, t in enumerate(reversed(RiskTier))}
    rows = [[motion, tier, arr] for (motion, tier), arr in sorted(sums.items(), key=lambda i: (i[0][0], order[i[0][1]]))]
    return Table("arr_at_risk", "ARR at risk by tier and motion", ["motion", "tier", "arr"], rows)


def sla_states(session: Session, viewer: Viewer | None, now: datetime) -> Table:
    """The signals waiting on an acknowledgement, by where they stand against their SLA."""
    state = case((SignalRow.status == SignalStatus.escalated.value, "escalated"),
                 (SignalRow.sla_due_at < now, "breached"),
                 (SignalRow.sla_due_at < now + DUE_SOON, "due soon"), else_="within SLA")
    query = (select(state.label("state"), func.count()).select_from(SignalRow)
             .where(SignalRow.status.in_([SignalStatus.open.value, SignalStatus.escalated.value])).group_by(state))
    counts = dict(session.execute(only_visible(query, SignalRow, viewer)).all())
    return Table("sla_states", "Unacknowledged signals by SLA state", ["state", "signals"],
                 [[s, counts.get(s, 0)] for s in SLA_STATES])


def response_by(session: Session, viewer: Viewer | None, dimension: Dimension, now: datetime, names: dict[str, str]) -> Table:
    found = response_metrics(session, [dimension], WEEKS, viewer, now)
    rows = []
    for g in found.groups:
        key = getattr(g, dimension.value)
        label = f"{names.get(key, key)}'s team" if dimension == Dimension.team else key
        hours = [None if v is None else round(v / HOUR, 4) for v in (g.time_to_acknowledge_median_s, g.time_to_acknowledge_p90_s)]
        rows.append([label, g.signals, *hours, g.sla_compliance_pct])
    return Table(f"response_by_{dimension.value}", f"Time to acknowledge and SLA compliance by {dimension.value}, last {WEEKS} weeks",
                 [dimension.value, "signals", "ack_median_hours", "ack_p90_hours", "sla_compliance_pct"], rows)


def completion(session: Session, now: datetime) -> Table:
    """Each ritual's action-item completion rate per week (null: nothing due yet), against the 75% target."""
    metrics = completion_metrics(session, now, weeks=WEEKS)
    rows = [[r.name or r.ritual_key, w.week_start.isoformat(), w.completion_rate_pct] for r in metrics.rituals for w in r.weeks]
    return Table("completion", f"Action-item completion rate by ritual per week (target {COMPLETION_TARGET:g}%)",
                 ["ritual", "week_start", "completion_rate_pct"], rows)


def stuck_plays(session: Session, viewer: Viewer | None, now: datetime, names: dict[str, str]) -> Table:
    """Running plays held at a step past its due date (or failed), by play, step and owner; the longest-waiting run
    of each is where a manager goes to nudge."""
    stuck = or_(PlayRunRow.next_due_at < now, PlayRunRow.stuck_failure.is_not(None))
    keys = (PlayRunRow.play_key, PlayRunRow.stuck_step_key, PlayRunRow.stuck_owner_id)
    query = (select(*keys, func.count(), func.min(PlayRunRow.stuck_since))
             .where(PlayRunRow.status == RunStatus.running.value, stuck, PlayRunRow.stuck_step_key.is_not(None))
             .group_by(*keys))
    found = session.execute(only_visible(query, PlayRunRow, viewer)).all()
    rows = []
    for play, step, owner, count, _ in sorted(found, key=lambda r: (-r[3], r[4] or now)):
        oldest = session.execute(only_visible(select(PlayRunRow.id).where(
            PlayRunRow.status == RunStatus.running.value, stuck, PlayRunRow.play_key == play, PlayRunRow.stuck_step_key == step,
            PlayRunRow.stuck_owner_id == owner).order_by(PlayRunRow.stuck_since, PlayRunRow.id).limit(1), PlayRunRow, viewer)).scalar()
        rows.append([play, step, owner, names.get(owner, owner), count, oldest])
    return Table("stuck_plays", "Plays stuck, by step and owner",
                 ["play", "step", "owner_id", "owner", "runs", "longest_waiting_run"], rows)


def assessment_nos(session: Session, now: datetime) -> Table:
    found = assess(session, now)
    return Table("assessment", "The self-assessment's no's by seam", ["seam", "no", "questions"],
                 [[g.title, g.no, len(g.questions)] for g in found.groups])


CHARTS = ("arr_at_risk", "sla_states", "response_by_family", "response_by_team", "completion", "stuck_plays", "assessment")


def table(session: Session, key: str, viewer: Viewer | None, names: dict[str, str], now: datetime | None = None) -> Table:
    now = now or datetime.now(UTC)
    viewer = resolved(session, viewer)  # the manager chain read once for every query below
    build = {
        "arr_at_risk": lambda: arr_at_risk(session, viewer),
        "sla_states": lambda: sla_states(session, viewer, now),
        "response_by_family": lambda: response_by(session, viewer, Dimension.family, now, names),
        "response_by_team": lambda: response_by(session, viewer, Dimension.team, now, names),
        "completion": lambda: completion(session, now),
        "stuck_plays": lambda: stuck_plays(session, viewer, now, names),
        "assessment": lambda: assessment_nos(session, now),
    }
    return build[key]()


def dashboard(session: Session, viewer: Viewer | None, names: dict[str, str], now: datetime | None = None) -> dict[str, Table]:
    now = now or datetime.now(UTC)
    viewer = resolved(session, viewer)
    return {key: table(session, key, viewer, names, now) for key in CHARTS}
