"""The handoff audit trail is exactly once per transition: a retried activity writes nothing twice
(on the time-skipping server with an activity that fails after its write, and on SQLite and PostgreSQL directly)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from activities.handoffs import HandoffActivities
from core.db import get_engine, session_scope
from core.settings import get_settings
from core.temporal import run_update
from models.common import Actor, Role
from models.handoffs import AuditEntry, Handoff, HandoffAction, HandoffChange, HandoffIn, HandoffStatus, HandoffTransition
from models.tables import HandoffAuditRow, HandoffRow
from services.handoffs import handoff_handle, start_handoff
from tests.support.handoffs import ALEX, COMPLETE, start
from tests.support.histories import record_history
from tests.support.stack import seed
from worker import Activities, async_session, build_worker
from workflows import WORKFLOWS
from workflows.handoff import HandoffWorkflow

ATTEMPTS: list[tuple[str, int, int]] = []


class RecordThenFailOnce(HandoffActivities):
    @activity.defn
    def record_handoff_transition(self, transition: HandoffTransition) -> None:
        """The real write, then a failure on the first attempt: as if the worker died after the commit."""
        super().record_handoff_transition(transition)
        ATTEMPTS.append((transition.entry.action, transition.seq, activity.info().attempt))
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost after the audit row was committed")

    @activity.defn
    def record_handoff_change(self, change: HandoffChange) -> None:
        """The same, for the compact saves of executions started since."""
        super().record_handoff_change(change)
        ATTEMPTS.append((change.entry.action, change.seq, activity.info().attempt))
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost after the audit row was committed")


def audit_rows(handoff_id: str) -> list[HandoffAuditRow]:
    with Session(get_engine()) as session:
        return list(session.exec(select(HandoffAuditRow).where(HandoffAuditRow.handoff_id == handoff_id).order_by(HandoffAuditRow.seq)))


async def test_a_retried_audit_activity_leaves_exactly_one_row_per_transition(ts_env, sqlite_db):
    seed()
    ATTEMPTS.clear()
    activities = Activities.build(ts_env.client)
    activities.handoffs = RecordThenFailOnce(session_scope, async_session, ts_env.client)
    async with Worker(
        ts_env.client,
        task_queue=get_settings().temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities.all(),
        activity_executor=ThreadPoolExecutor(max_workers=4),
        workflow_failure_exception_types=[Exception],
    ):
        with Session(get_engine()) as session:
            handoff = await start_handoff(
                session, ts_env.client, HandoffIn(kind="ae_to_csm", account_id="acme", to_user_id="lee"), "alex", Role.ae
            )
        handle = handoff_handle(ts_env.client, handoff.id)
        alex, lee = Actor(id="alex", role=Role.ae), Actor(id="lee", role=Role.csm_lead)
        await run_update(handle, HandoffWorkflow.patch, HandoffAction(actor=alex, fields=COMPLETE))
        await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=alex))
        await run_update(handle, HandoffWorkflow.reject, HandoffAction(actor=lee, reason="timeline unclear"))
        await run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=alex))
        await ts_env.sleep(timedelta(hours=25))  # the acceptance SLA lapses and escalates
        await run_update(handle, HandoffWorkflow.accept, HandoffAction(actor=lee))
        final = await handle.result()

    expected = ["created", "patched", "submitted", "rejected", "submitted", "acceptance_sla_lapsed", "escalated", "accepted"]
    assert sorted(ATTEMPTS) == sorted((action, seq, attempt) for seq, action in enumerate(expected, 1) for attempt in (1, 2))
    rows = audit_rows(handoff.id)
    assert [(row.seq, row.action) for row in rows] == list(enumerate(expected, 1))
    with Session(get_engine()) as session:
        row = session.get(HandoffRow, handoff.id)
        assert row.revision == len(expected) and row.status == "accepted" and final.status == HandoffStatus.accepted


def transition(seq: int, action: str, status: HandoffStatus) -> HandoffTransition:
    at = datetime(2027, 1, 4, 9, tzinfo=UTC) + timedelta(minutes=seq)
    handoff = Handoff(
        id="ho-db", workflow_id="handoff-ho-db", kind="ae_to_csm", status=status, account_id="acme", from_user_id="alex",
        to_user_id="lee", required_fields=["pain"], missing_fields=[], specs_version=1, created_at=at,
    )
    entry = AuditEntry(at=at, actor_id="alex", action=action, from_user_id="alex", to_user_id="lee", fields_transferred=["pain"])
    return HandoffTransition(seq=seq, entry=entry, handoff=handoff)


def test_recording_a_transition_twice_or_late_writes_nothing_twice(any_db):
    first, second = transition(1, "created", HandoffStatus.draft), transition(2, "submitted", HandoffStatus.submitted)
    handoffs = HandoffActivities(session_scope, async_sessions=None, client=None)  # the database only
    for item in (first, second, first, second):  # retries and a reordered, stale write
        handoffs.record_handoff_transition(item)
    rows = audit_rows("ho-db")
    assert [(row.seq, row.action, row.fields_transferred) for row in rows] == [(1, "created", ["pain"]), (2, "submitted", ["pain"])]
    with Session(get_engine()) as session:
        row = session.get(HandoffRow, "ho-db")
        assert row.revision == 2 and row.status == "submitted"


def test_a_reordered_change_never_puts_an_older_field_over_a_newer_one(any_db):
    """Compact saves carry only the fields their transition set: each field keeps the seq that set it."""
    def change(seq: int, action: str, fields: dict) -> HandoffChange:
        item = transition(seq, action, HandoffStatus.draft)
        return HandoffChange(seq=seq, entry=item.entry, handoff=item.handoff, fields=fields)

    handoffs = HandoffActivities(session_scope, async_sessions=None, client=None)
    created, older, newer = change(1, "created", {"pain": "old", "team": "x"}), change(2, "patched", {"pain": "v2"}), change(3, "patched", {"pain": "v3"})
    for item in (created, newer, older, newer):  # a reordered, stale write and a retry
        handoffs.record_handoff_change(item)
    with Session(get_engine()) as session:
        row = session.get(HandoffRow, "ho-db")
        assert row.revision == 3 and Handoff.model_validate(row.state).fields == {"pain": "v3", "team": "x"}
    assert [row.seq for row in audit_rows("ho-db")] == [1, 2, 3]


async def test_an_update_that_arrives_with_the_start_is_audited_after_created(ts_env, sqlite_db):
    """The API answers a new handoff once it is started, and a submit sent at once can reach the workflow in its first
    workflow task, whose update handler runs before `run`: "created" keeps seq 1 all the same."""
    seed()
    handoff, handle = await start(ts_env.client, COMPLETE, to_user_id="lee")  # no worker yet: the first task waits
    submitting = asyncio.create_task(run_update(handle, HandoffWorkflow.submit, HandoffAction(actor=ALEX)))
    await asyncio.sleep(1)  # the update reaches the server before a worker polls
    async with build_worker(ts_env.client, workflow_failure_exception_types=[Exception]):
        await submitting
        await run_update(handle, HandoffWorkflow.accept, HandoffAction(actor=Actor(id="lee", role=Role.csm_lead)))
        await handle.result()
    events = [e.event_type for e in (await handle.fetch_history()).events]
    accepted = events.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    assert events[:accepted].count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1  # it came with the start
    assert [(row.seq, row.action) for row in audit_rows(handoff.id)] == [(1, "created"), (2, "submitted"), (3, "accepted")]
    with Session(get_engine()) as session:
        row = session.get(HandoffRow, handoff.id)
        assert row.revision == 3 and row.status == "accepted" and Handoff.model_validate(row.state).fields == COMPLETE
    await record_history(handle, "handoff_submitted_with_its_start")
