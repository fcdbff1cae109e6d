"""Read models keyed by run (issue 14 item 8), on SQLite and PostgreSQL: after a reset the new run's writes win
whatever their revisions, an old run's attempt still in flight writes no row, the handoff audit keeps every run's
transitions once, and a page of the reset run is recorded beside the old run's."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from activities.handoffs import HandoffActivities
from activities.notifications import NotificationActivities
from activities.read_models import Writer, record_run
from core.db import session_scope
from models.handoffs import AuditEntry, Handoff, HandoffStatus, HandoffTransition
from models.notifications import NotifyRequest
from models.tables import HandoffAuditRow, HandoffRow, NotificationRow, WorkflowRunRow
from services.handoffs import audit_rows

T0 = datetime(2027, 1, 4, 9, tzinfo=UTC)
RESET_AT = T0 + timedelta(hours=1)
HANDOFFS = HandoffActivities(session_scope, async_sessions=None, client=None)  # the database only
WORKFLOW_ID = "handoff-ho-runs"


def in_run(run_id: str, started: datetime) -> ActivityEnvironment:
    """An activity attempt of `run_id` that started at `started`."""
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_id=WORKFLOW_ID, workflow_run_id=run_id, started_time=started)
    return env


def transition(seq: int, action: str, status: HandoffStatus, at: datetime) -> HandoffTransition:
    handoff = Handoff(id="ho-runs", workflow_id=WORKFLOW_ID, kind="ae_to_csm", status=status, account_id="acme",
                      from_user_id="alex", to_user_id="lee", required_fields=[], missing_fields=[], specs_version=1,
                      created_at=T0)
    entry = AuditEntry(at=at, actor_id="alex", action=action, from_user_id="alex", to_user_id="lee")
    return HandoffTransition(seq=seq, entry=entry, handoff=handoff)


def handoff_row(engine) -> tuple[str, int, str]:
    with Session(engine) as session:
        row = session.get(HandoffRow, "ho-runs")
        return row.status, row.revision, row.run_id


def audit(engine) -> list[tuple[str, int, str]]:
    with Session(engine) as session:
        return [(row.run_id, row.seq, row.action) for row in session.exec(select(HandoffAuditRow).order_by(HandoffAuditRow.id))]


def test_the_reset_run_wins_whatever_its_revisions_and_the_old_run_writes_no_row_after_it(any_db):
    old = in_run("run-old", T0)
    record = HANDOFFS.record_handoff_transition
    old.run(record, transition(1, "created", HandoffStatus.draft, T0))
    old.run(record, transition(2, "submitted", HandoffStatus.submitted, T0 + timedelta(minutes=1)))
    old.run(record, transition(1, "created", HandoffStatus.draft, T0))  # a retry: nothing twice, nothing back
    assert handoff_row(any_db) == ("submitted", 2, "run-old")

    new = in_run("run-new", RESET_AT + timedelta(seconds=1))  # reset to before the submission: seq counts again
    new.run(record, transition(1, "created", HandoffStatus.draft, RESET_AT))
    assert handoff_row(any_db) == ("draft", 1, "run-new")

    in_flight = in_run("run-old", T0 + timedelta(minutes=2))  # started before the reset, done after it
    in_flight.run(record, transition(3, "accepted", HandoffStatus.accepted, T0 + timedelta(minutes=2)))
    assert handoff_row(any_db) == ("draft", 1, "run-new")

    new.run(record, transition(2, "patched", HandoffStatus.draft, RESET_AT + timedelta(minutes=1)))
    new.run(record, transition(1, "created", HandoffStatus.draft, RESET_AT))  # a stale retry of the new run
    assert handoff_row(any_db) == ("draft", 2, "run-new")
    assert audit(any_db) == [("run-old", 1, "created"), ("run-old", 2, "submitted"), ("run-new", 1, "created"),
                             ("run-old", 3, "accepted"), ("run-new", 2, "patched")]
    with Session(any_db) as session:  # by time, then run, then seq
        assert [e.action for e in audit_rows(session, "ho-runs")] == ["created", "submitted", "accepted", "created", "patched"]


def test_a_reset_recorded_by_ops_stops_the_old_run_before_the_new_one_writes(any_db):
    old = in_run("run-old", T0)
    old.run(HANDOFFS.record_handoff_transition, transition(1, "created", HandoffStatus.draft, T0))
    with session_scope() as session:  # what `ops reset` records once the reset returns
        record_run(session, Writer(WORKFLOW_ID, "run-new", RESET_AT))
    in_run("run-old", T0 + timedelta(minutes=5)).run(
        HANDOFFS.record_handoff_transition, transition(2, "submitted", HandoffStatus.submitted, T0 + timedelta(minutes=5)))
    assert handoff_row(any_db) == ("draft", 1, "run-old")

    in_run("run-new", RESET_AT + timedelta(seconds=2)).run(
        HANDOFFS.record_handoff_transition, transition(1, "created", HandoffStatus.draft, RESET_AT))
    assert handoff_row(any_db) == ("draft", 1, "run-new")
    with Session(any_db) as session:  # the new run keeps the time ops recorded, not its later first write
        assert session.get(WorkflowRunRow, "run-new").seen_at == RESET_AT


def test_a_row_from_before_runs_were_recorded_keeps_its_revision_guard(any_db):
    with session_scope() as session:
        session.add(HandoffRow(id="ho-runs", workflow_id=WORKFLOW_ID, kind="ae_to_csm", account_id="acme", status="submitted",
                               from_user_id="alex", to_user_id="lee", revision=3, created_at=T0, updated_at=T0, state={}))
    run = in_run("run-1", T0)
    run.run(HANDOFFS.record_handoff_transition, transition(2, "patched", HandoffStatus.draft, T0))
    assert handoff_row(any_db) == ("submitted", 3, None)
    run.run(HANDOFFS.record_handoff_transition, transition(4, "accepted", HandoffStatus.accepted, T0))
    assert handoff_row(any_db) == ("accepted", 4, "run-1")


def test_a_reset_runs_page_is_recorded_beside_the_old_runs_and_a_retry_writes_nothing_twice(any_db):
    notifications = NotificationActivities(session_scope, http=None, settings=None)
    page = NotifyRequest(key=f"{WORKFLOW_ID}:page-1", user_ids=["lee"], kind="handoff_request", subject_type="handoff",
                         subject_id="ho-runs", text="A handoff waits for you", at=T0)
    in_run("run-old", T0).run(notifications.record_notifications, page)
    in_run("run-old", T0).run(notifications.record_notifications, page)
    in_run("run-new", RESET_AT).run(notifications.record_notifications, page.model_copy(update={"at": RESET_AT}))
    with Session(any_db) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.user_id == "lee").order_by(NotificationRow.at)).all()
    assert [r.id for r in rows] == [f"{WORKFLOW_ID}:page-1:run-old:lee", f"{WORKFLOW_ID}:page-1:run-new:lee"]
