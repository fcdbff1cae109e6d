"""Response analytics on SQLite and PostgreSQL: the signals' saves stamp when each was acknowledged, given a task and
resolved; one statement groups them by family, team, owner and week with nearest-rank percentiles, SLA compliance
and escalation rate, over what the viewer may see."""

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.signals import SignalActivities
from core.db import session_scope
from core.errors import PillarError
from core.seed import load_demo_directory
from models.common import Revision, TimelineEntry
from models.response import Dimension
from models.signals import SignalChange, SignalDetail, SignalHead, SignalStatus
from models.tables import Account, SignalRow
from services.response_metrics import metrics_csv, parse_by, response_metrics
from services.visibility import ResolvedViewer

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
T = NOW - timedelta(days=1)
SIGNALS = SignalActivities(session_scope)
HOUR = 3600


def env_of(signal_id: str) -> ActivityEnvironment:
    """An activity environment as the signal's own workflow runs it."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=f"signal-{signal_id}")
    return env


def signal(signal_id: str, *marks: tuple[str, float], account="acme", family="renewal_risk", owners=("lee", "alex"),
           created=T, status=SignalStatus.acknowledged, escalation_level=0) -> SignalDetail:
    timeline = [TimelineEntry(at=created, type="paged")]
    timeline += [TimelineEntry(at=created + timedelta(hours=h), type=kind, actor="lee") for kind, h in marks]
    acknowledged_by = next((owners[0] for kind, _ in marks if kind == "acknowledged"), None)
    return SignalDetail(id=signal_id, family=family, severity="critical", account_id=account, status=status,
                        owners=list(owners), acknowledged_by=acknowledged_by, escalation_level=escalation_level,
                        sla_due_at=created + timedelta(hours=4), routing_version=1, created_at=created, timeline=timeline)


@pytest.fixture
def book(any_db):
    with Session(any_db) as session:
        load_demo_directory(session, "response-admin-token-0123")
        session.add(Account(id="elsewhere", name="Elsewhere", arr=10_000, team={"csm": "dana"}))
        session.commit()
    for detail in [
        signal("s1", ("acknowledged", 1), ("task_added", 2), ("resolved", 10), status=SignalStatus.resolved),
        signal("s2", ("acknowledged", 5), escalation_level=1),
        signal("s3", status=SignalStatus.open),  # its SLA lapsed unacknowledged
        signal("s4", created=NOW - timedelta(hours=1), status=SignalStatus.open),  # still within its SLA: not judged
        signal("s6", ("acknowledged", 2), created=T - timedelta(weeks=1), account="elsewhere", owners=("dana",),
               family="adoption_decay"),
        signal("s7", ("acknowledged", 1), created=NOW - timedelta(weeks=13)),  # outside the 12 weeks
    ]:
        env_of(detail.id).run(SIGNALS.save_signal_state, Revision(revision=1, state=detail))
    # s5 through the compact save: its marks come from the timeline entries table
    head = SignalHead(**signal("s5", family="adoption_decay", owners=("casey",), status=SignalStatus.open).model_dump(
        exclude={"tasks", "evidence", "timeline"}))
    env = env_of("s5")
    env.run(SIGNALS.save_signal_change, SignalChange(revision=1, signal=head, timeline=[TimelineEntry(at=T, type="paged")]))
    acked = head.model_copy(update={"status": SignalStatus.acknowledged, "acknowledged_by": "casey"})
    env.run(SIGNALS.save_signal_change, SignalChange(revision=2, signal=acked, timeline_from=1, timeline=[
        TimelineEntry(at=T + timedelta(minutes=30), type="acknowledged", actor="casey")]))
    return any_db


def test_the_saves_stamp_the_response_marks(book):
    with Session(book) as session:
        s1, s5 = session.get(SignalRow, "s1"), session.get(SignalRow, "s5")
    assert (s1.owner_id, s1.acknowledged_at, s1.first_task_at, s1.resolved_at) == (
        "lee", T + timedelta(hours=1), T + timedelta(hours=2), T + timedelta(hours=10))
    assert (s5.owner_id, s5.acknowledged_at, s5.first_task_at) == ("casey", T + timedelta(minutes=30), None)


def test_grouped_by_family_with_percentiles_compliance_and_escalation(book):
    with Session(book) as session:
        found = response_metrics(session, [Dimension.family], now=NOW)
    groups = {g.family: g for g in found.groups}
    risk = groups["renewal_risk"]
    assert (risk.signals, risk.acknowledged) == (4, 2)
    assert (risk.time_to_acknowledge_median_s, risk.time_to_acknowledge_p90_s) == (1 * HOUR, 5 * HOUR)
    assert (risk.time_to_first_task_median_s, risk.time_to_resolution_p90_s) == (2 * HOUR, 10 * HOUR)
    assert (risk.sla_decided, risk.sla_met, risk.sla_compliance_pct) == (3, 1, 33.3)
    assert (risk.escalated, risk.escalation_rate_pct) == (1, 25.0)
    decay = groups["adoption_decay"]
    assert (decay.signals, decay.time_to_acknowledge_median_s, decay.sla_compliance_pct) == (2, 0.5 * HOUR, 100.0)


def test_grouped_by_team_owner_and_week(book):
    with Session(book) as session:
        teams = response_metrics(session, parse_by("team"), now=NOW)
        weeks = response_metrics(session, parse_by("week,owner"), now=NOW)
    # lee's team is maya's (lee reports to maya); casey's and dana's is lee's
    assert {g.team: g.signals for g in teams.groups} == {"maya": 4, "lee": 2}
    assert [(g.week, g.owner, g.signals) for g in weeks.groups] == [
        (date(2026, 10, 26), "dana", 1), (date(2026, 11, 2), "casey", 1), (date(2026, 11, 2), "lee", 4)]
    assert metrics_csv(weeks).splitlines()[0].startswith("week,owner,signals,acknowledged,time_to_acknowledge_median_s")


def test_each_viewer_counts_only_what_they_may_see(book):
    with Session(book) as session:
        dana = response_metrics(session, [], viewer=ResolvedViewer("dana", "csm", ("dana",)), now=NOW)
        everyone = response_metrics(session, [], viewer=ResolvedViewer("kim", "cro", ()), now=NOW)
    assert [g.signals for g in dana.groups] == [1]  # her account only
    assert [g.signals for g in everyone.groups] == [6]


def test_bad_groupings_and_windows_are_refused(book):
    for text in ("colour", "family,family"):
        with pytest.raises(PillarError) as error:
            parse_by(text)
        assert error.value.code == "invalid"
    with Session(book) as session, pytest.raises(PillarError):
        response_metrics(session, [], weeks=53, now=NOW)
