"""Compact saves on SQLite and PostgreSQL: each carries only what changed, and whatever order they arrive in (a
retry, a reordered write), the read model ends up as the whole signal or run, timeline included, nothing twice."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from activities.plays import PlayActivities
from activities.signals import write_signal_change
from core.db import session_scope
from models.common import TimelineEntry
from models.plays import PlayRun, PlayRunChange, RunStatus, RunStep, StepStatus
from models.signals import SignalChange, SignalDetail, SignalHead, SignalStatus
from models.tables import PlayRunRow, SignalRow, TaskRow
from models.tasks import Outcome, Task

AT = datetime(2027, 1, 4, 9, tzinfo=UTC)


def entry(n: int) -> TimelineEntry:
    return TimelineEntry(at=AT + timedelta(minutes=n), type=f"step_{n}", detail=f"entry {n}")


def head(status: SignalStatus) -> SignalHead:
    return SignalHead(id="sig-db", family="renewal_risk", severity="critical", account_id="acme", status=status,
                      owners=["lee"], sla_due_at=AT + timedelta(hours=4), routing_version=1, created_at=AT)


def task(outcome: Outcome | None) -> Task:
    return Task(id="sig-db-t1", signal_id="sig-db", template_key="renewal_offer", title="Offer", owner_id="alex",
                due_at=AT + timedelta(days=1), outcome=outcome, blocked_on="legal" if outcome else None)


def test_signal_changes_in_any_order_make_the_whole_signal(any_db):
    changes = [
        SignalChange(revision=1, signal=head(SignalStatus.open), timeline_from=0, timeline=[entry(0), entry(1)],
                     evidence={"usage_change": -0.35}),
        SignalChange(revision=2, signal=head(SignalStatus.acknowledged), timeline_from=2, timeline=[entry(2)],
                     task=task(None), task_revision=1),
        SignalChange(revision=3, signal=head(SignalStatus.acknowledged), timeline_from=3, timeline=[entry(3), entry(4)],
                     task=task(Outcome.blocked_waiting_on), task_revision=2),
    ]
    for change in (changes[0], changes[2], changes[1], changes[2], changes[0]):  # reordered, stale and retried
        with session_scope() as session:
            write_signal_change(session, change, "signal-sig-db")
    with Session(any_db) as session:
        row = session.get(SignalRow, "sig-db")
        signal = SignalDetail.model_validate(row.state)
        assert row.status == "acknowledged" and row.task_count == 1 and row.state["revision"] == 3
        assert signal.timeline == [entry(n) for n in range(5)] and signal.evidence == {"usage_change": -0.35}
        assert [t.outcome for t in signal.tasks] == [Outcome.blocked_waiting_on]  # the older task change lost
        assert session.get(TaskRow, "sig-db-t1").outcome == "blocked_waiting_on"


def test_play_changes_carry_each_steps_fields_once(any_db):
    def run(status) -> PlayRun:
        step = RunStep(key="diagnose", title="Diagnose", owner_id="casey", status=status, ready_at=AT, due_at=AT + timedelta(days=2))
        return PlayRun(id="run-db", workflow_id="play-run-db", play_key="renewal_save", play_version=2, account_id="acme",
                       status=RunStatus.running, started_at=AT, steps=[step])

    first = PlayRunChange(revision=1, run=run(StepStatus.ready), timeline_from=0, timeline=[entry(0)])
    done = PlayRunChange(revision=2, run=run(StepStatus.done), timeline_from=1, timeline=[entry(1)],
                         fields={"diagnose": {"root_cause": "champion left"}})
    later = PlayRunChange(revision=3, run=run(StepStatus.done), timeline_from=2, timeline=[entry(2)])
    plays = PlayActivities(session_scope, client=None)
    for change in (first, later, done, later):  # the change with the fields arrives stale
        plays.save_play_run_change(change)
    with Session(any_db) as session:
        row = session.get(PlayRunRow, "run-db")
        stored = PlayRun.model_validate(row.state)
        assert row.revision == 3 and stored.steps[0].status == StepStatus.done
        assert stored.steps[0].fields == {"root_cause": "champion left"}
        assert stored.timeline == [entry(0), entry(1), entry(2)]
