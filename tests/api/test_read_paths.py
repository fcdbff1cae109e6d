"""Read paths that stay flat with the book: the inbox through the escalation and open-step tables, the board ordered
and counted in SQL, cursor paging on the lists, and failure summaries kept instead of a history per listed row."""

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
import sqlalchemy as sa
from sqlalchemy import text
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionTerminatedEventAttributes
from temporalio.client import WorkflowExecutionStatus, WorkflowHistory
from temporalio.common import TypedSearchAttributes
from temporalio.testing import ActivityEnvironment

from activities.plays import PlayActivities
from activities.signals import SignalActivities
from core.db import MIGRATIONS_DIR, get_engine, session_scope
from core.paging import PageRequest
from models.common import Revision, Severity
from models.plays import PlayRun, RunStatus, RunStep, StepFailure, StepStatus
from models.signals import SignalDetail, SignalStatus
from models.tables import Account, ExecutionFailureRow, PlayRunOpenStepRow, SignalEscalationRow
from models.tables.types import UTCDateTime
from models.tasks import Task
from scripts.book import seed_book
from services import ops
from services.inbox import inbox_for
from services.plays import board
from tests.support.stack import ADMIN_TOKEN, seed

NOW = datetime.now(UTC).replace(microsecond=0)
SIGNALS, PLAYS = SignalActivities(session_scope), PlayActivities(session_scope, client=None)


def signal(revision_changes: dict) -> SignalDetail:
    base = dict(id="sig-paths", family="adoption_decay", severity=Severity.warning, account_id="acme",
                status=SignalStatus.open, owners=["casey"], sla_due_at=NOW + timedelta(hours=1), routing_version=1,
                created_at=NOW - timedelta(hours=1))
    return SignalDetail(**(base | revision_changes))


def to_acknowledge(user_id: str) -> list[str]:
    with Session(get_engine()) as session:
        inbox = inbox_for(session, user_id)
        assert inbox.counts["to_acknowledge"] == len(inbox.to_acknowledge)
        return [w.signal.id for w in inbox.to_acknowledge]


def needs_task(user_id: str) -> list[str]:
    with Session(get_engine()) as session:
        return [w.signal.id for w in inbox_for(session, user_id).needs_task]


def test_the_escalation_table_follows_every_signal_write(any_db):
    seed()
    env = ActivityEnvironment()
    env.run(SIGNALS.save_signal_state, Revision(revision=1, state=signal({})))
    assert to_acknowledge("casey") == ["sig-paths"] and to_acknowledge("lee") == []
    escalated = {"status": SignalStatus.escalated, "escalation_level": 1, "escalated_to": ["lee"]}
    env.run(SIGNALS.save_signal_state, Revision(revision=2, state=signal(escalated)))
    assert to_acknowledge("lee") == ["sig-paths"] and to_acknowledge("casey") == ["sig-paths"]
    env.run(SIGNALS.save_signal_state, Revision(revision=2, state=signal({})))  # a stale revision changes nothing
    assert to_acknowledge("lee") == ["sig-paths"]
    env.run(SIGNALS.save_signal_state, Revision(revision=3, state=signal({"owners": ["alex"]})))  # reassigned: the SLA restarts, the escalation is over
    assert (to_acknowledge("alex"), to_acknowledge("casey"), to_acknowledge("lee")) == (["sig-paths"], [], [])
    env.run(SIGNALS.save_signal_state, Revision(revision=4, state=signal({**escalated, "owners": ["alex"], "escalated_to": ["maya", "victor"]})))  # re-escalated
    assert to_acknowledge("maya") == ["sig-paths"] and to_acknowledge("victor") == ["sig-paths"]
    acknowledged = {**escalated, "owners": ["alex"], "escalated_to": ["maya", "victor"],
                    "status": SignalStatus.acknowledged, "acknowledged_by": "maya"}
    env.run(SIGNALS.save_signal_state, Revision(revision=5, state=signal(acknowledged)))
    assert [to_acknowledge(u) for u in ("alex", "maya", "victor")] == [[], [], []]
    assert needs_task("maya") == ["sig-paths"]
    task = Task(id="sig-paths-t1", signal_id="sig-paths", template_key="adoption_enablement", title="Enable",
                owner_id="maya", due_at=NOW + timedelta(days=3))
    env.run(SIGNALS.save_signal_state, Revision(revision=6, state=signal({**acknowledged, "tasks": [task]})))
    assert needs_task("maya") == []
    with Session(any_db) as session:
        rows = session.exec(select(SignalEscalationRow).where(SignalEscalationRow.signal_id == "sig-paths")).all()
        assert sorted(r.user_id for r in rows) == ["maya", "victor"]


def test_the_inbox_counts_everything_and_draws_the_most_urgent(sqlite_db):
    seed()
    with session_scope() as session:
        seed_book(session, runs=90, signals=120, owner_id="casey")
    with Session(sqlite_db) as session:
        casey, lee = inbox_for(session, "casey", shown=20), inbox_for(session, "lee", shown=20)
    assert casey.counts == {"to_acknowledge": 120, "needs_task": 0, "steps": 90, "tasks": 0}
    assert len(casey.to_acknowledge) == 20 and len(casey.steps) == 20
    dues = [w.signal.sla_due_at for w in casey.to_acknowledge]
    assert dues == sorted(dues) and casey.to_acknowledge[0].signal.status == SignalStatus.escalated
    assert all(w.step.status == StepStatus.overdue for w in casey.steps)  # overdue steps lead
    assert lee.counts["to_acknowledge"] == 40 and lee.counts["steps"] == 90  # escalated to lee; lee's sponsor steps


def stuck_run(run_id: str, *, ready_hours_ago: float | None = None, overdue_seconds: int = 0, failed: bool = False) -> PlayRun:
    steps = []
    if ready_hours_ago is not None:
        ready = NOW - timedelta(hours=ready_hours_ago)
        due = NOW - timedelta(seconds=overdue_seconds) if overdue_seconds else NOW + timedelta(days=1)
        failure = StepFailure(activity_type="log_step_to_crm", message="CRM down", at=ready) if failed else None
        steps.append(RunStep(key="s", title="S", owner_id="lee", ready_at=ready, due_at=due, failure=failure,
                             status=StepStatus.failed if failed else StepStatus.ready))
    else:
        steps.append(RunStep(key="s", title="S", owner_id="lee"))
    return PlayRun(id=run_id, workflow_id=f"play-{run_id}", play_key="renewal_save", play_version=1, account_id="acme",
                   status=RunStatus.running, started_at=NOW - timedelta(days=1), steps=steps)


def test_the_board_puts_failed_then_overdue_runs_first_then_the_longest_waiting(any_db):
    seed()
    runs = [stuck_run("idle"), stuck_run("fresh", ready_hours_ago=1), stuck_run("late", ready_hours_ago=2, overdue_seconds=60),
            stuck_run("failed", ready_hours_ago=0, failed=True), stuck_run("later", ready_hours_ago=1, overdue_seconds=3600),
            stuck_run("old", ready_hours_ago=9)]
    for run in runs:
        PLAYS.save_play_run_state(Revision(revision=1, state=run))
    with Session(any_db) as session:
        found = board(session)
        in_order = ["failed", "later", "late", "old", "fresh", "idle"]
        assert [r.id for r in found.runs] == in_order
        assert (found.total, found.overdue, found.failed) == (6, 2, 1)
        assert found.at_step == {"renewal_save": {"s": 5}}
        assert all([r.id for r in board(session, shown=shown).runs] == in_order[:shown] for shown in range(1, 7))
        assert board(session, owner_id="nobody").total == 0
        PLAYS.save_play_run_state(Revision(revision=2, state=runs[1].model_copy(update={"status": RunStatus.completed})))
        assert session.exec(select(PlayRunOpenStepRow).where(PlayRunOpenStepRow.run_id == "fresh")).all() == []


@pytest.fixture
def book_api(sqlite_db):
    tokens = seed()
    with session_scope() as session:
        seed_book(session, runs=120, signals=130, owner_id="casey")
    from api.main import app

    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client, tokens


def test_the_pages_name_the_accounts_they_show_and_offer_every_motion(book_api):
    client, tokens = book_api
    with session_scope() as session:  # an account with nothing on the pages, in a motion of its own
        session.add(Account(id="umbrella", name="Umbrella Academy", motion="corporate", team={}))
    client.headers.pop("Authorization")
    for user, path in (("casey", "/inbox"), ("maya", "/board")):
        client.cookies.clear()
        signed_in = client.post("/sign-in", data={"token": tokens[user], "next": path}, follow_redirects=False)
        assert signed_in.status_code == 303
        page = client.get(path).text
        assert "Acme University" in page and "Globex Certification" in page and "Initech Learning" in page
    assert all(f'<option value="{m}"' in page for m in ("academic", "credentialed", "corporate"))
    assert "<strong>120</strong> running plays" in page


def every_page(client, path: str, **params) -> list[dict]:
    rows, url, pages = [], path, 0
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        rows += response.json()
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            assert "Link" not in response.headers
            return rows
        link = response.headers["Link"]
        assert link.startswith("<http") and link.endswith('>; rel="next"') and f"cursor={cursor}" in link
        response = client.get(link[1:link.index(">")])


def test_lists_page_by_cursor_covering_every_row_once_in_a_stable_order(book_api):
    client, _ = book_api
    first = client.get("/api/v1/signals", params={"owner_id": "casey"})
    assert len(first.json()) == 50 and first.headers["X-Next-Cursor"]
    signals = every_page(client, "/api/v1/signals", owner_id="casey", limit=37)
    assert len(signals) == 130 and len({s["id"] for s in signals}) == 130
    keys = [(s["created_at"], s["id"]) for s in signals]
    assert keys == sorted(keys, reverse=True)
    stuck = every_page(client, "/api/v1/play-runs", status="running", stuck="true", limit=15)
    assert len(stuck) == 40 and len({r["id"] for r in stuck}) == 40
    since = [(r["stuck"]["waiting_since"], r["id"]) for r in stuck]
    assert since == sorted(since)
    assert len(every_page(client, "/api/v1/play-runs", limit=500)) == 120
    users = every_page(client, "/api/v1/users", limit=4)
    assert [u["id"] for u in users] == sorted(u["id"] for u in users) and len(users) == 12
    last = client.get("/api/v1/play-runs", params={"limit": 500})
    assert "X-Next-Cursor" not in last.headers and "Link" not in last.headers


@pytest.mark.parametrize("params", [{"cursor": "not a cursor!"}, {"cursor": "e30"}, {"limit": 501}, {"limit": 0}])
def test_a_malformed_cursor_or_a_limit_out_of_range_is_a_422(book_api, params):
    client, _ = book_api
    response = client.get("/api/v1/signals", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"] and error["details"]


def test_a_cursor_of_another_list_is_refused(book_api):
    client, _ = book_api
    cursor = client.get("/api/v1/signals", params={"limit": 5}).headers["X-Next-Cursor"]
    response = client.get("/api/v1/play-runs", params={"cursor": cursor, "stuck": "true"})
    assert response.status_code == 422 and "cursor" in response.json()["error"]["message"]


def test_the_openapi_documents_the_paging_headers(book_api):
    client, _ = book_api
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/signals"]["get"]
    assert {"Link", "X-Next-Cursor"} <= set(operation["responses"]["200"]["headers"])
    assert {"limit", "cursor"} <= {p["name"] for p in operation["parameters"]}


class FakeVisibility:
    """A Temporal client double: lists terminated executions, counts the histories fetched."""

    def __init__(self, count: int) -> None:
        self.fetched = 0
        self.executions = [SimpleNamespace(
            id=f"signal-{i}", run_id=f"run-{i}", workflow_type="SignalWorkflow", status=WorkflowExecutionStatus.TERMINATED,
            start_time=NOW, close_time=NOW, typed_search_attributes=TypedSearchAttributes.empty) for i in range(count)]

    def list_workflows(self, query, page_size, next_page_token):
        start = int(next_page_token or b"0")
        page = self.executions[start:start + page_size]
        more = start + page_size < len(self.executions)
        listing = SimpleNamespace(current_page=page, next_page_token=str(start + page_size).encode() if more else None)

        async def fetch_next_page():
            pass

        listing.fetch_next_page = fetch_next_page
        return listing

    def get_workflow_handle(self, workflow_id, run_id):
        async def fetch_history():
            self.fetched += 1
            attributes = WorkflowExecutionTerminatedEventAttributes(reason=f"bad deploy ({workflow_id})")
            event = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
                                 workflow_execution_terminated_event_attributes=attributes)
            return WorkflowHistory(workflow_id, [event])

        return SimpleNamespace(fetch_history=fetch_history)


async def test_the_ops_list_reads_each_history_once_and_then_the_stored_summary(sqlite_db):
    client = FakeVisibility(7)
    with Session(sqlite_db) as session:
        first = await ops.list_executions(client, "", PageRequest(limit=5), session)
        assert client.fetched == 5 and first.next_cursor
        rest = await ops.list_executions(client, "", PageRequest(limit=5, cursor=first.next_cursor), session)
        assert client.fetched == 7 and rest.next_cursor is None and len(rest.items) == 2
        again = await ops.list_executions(client, "", PageRequest(limit=5), session)
        assert client.fetched == 7  # every summary came from the table
        assert [e.failure for e in again.items] == [e.failure for e in first.items]
        assert again.items[0].failure == "terminated: bad deploy (signal-0)"
        assert len(session.exec(select(ExecutionFailureRow)).all()) == 7


def test_migration_0009_backfills_escalations_task_counts_and_open_steps(any_db):
    seed()  # the directory first: today's models write to tables 0008 lacks (cache_generations)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with any_db.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    env = ActivityEnvironment()
    task = Task(id="sig-paths-t1", signal_id="sig-paths", template_key="k", title="T", owner_id="maya", due_at=NOW)
    signals = sa.table("signals", *(sa.column(c, sa.String) for c in ("id", "workflow_id", "family", "severity",
                       "account_id", "status")), sa.column("owner_ids", sa.JSON), sa.column("escalated_to", sa.JSON),
                       sa.column("escalation_level", sa.Integer), sa.column("routing_version", sa.Integer),
                       *(sa.column(c, UTCDateTime) for c in ("sla_due_at", "created_at", "updated_at")),
                       sa.column("state", sa.JSON))
    escalated = signal({"status": SignalStatus.escalated, "escalated_to": ["lee", "maya"]})
    with_task = signal({"id": "sig-task", "status": SignalStatus.acknowledged, "acknowledged_by": "casey", "tasks": [task]})
    with any_db.begin() as connection:  # rows as 0008's activities wrote them
        for detail in (escalated, with_task):
            connection.execute(signals.insert().values(
                id=detail.id, workflow_id=f"signal-{detail.id}", family=detail.family, severity="warning",
                account_id="acme", status=detail.status.value, owner_ids=detail.owners, escalated_to=detail.escalated_to,
                escalation_level=1, routing_version=1, sla_due_at=NOW, created_at=NOW, updated_at=NOW,
                state=detail.model_dump(mode="json")))
    with any_db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(any_db) as session:
        assert sorted(r.user_id for r in session.exec(select(SignalEscalationRow))) == ["lee", "maya"]
        assert session.exec(text("SELECT task_count FROM signals WHERE id = 'sig-task'")).one()[0] == 1
    env.run(SIGNALS.save_signal_state, Revision(revision=9, state=signal({})))  # and the activity keeps it from there
    assert to_acknowledge("lee") == []


def test_migration_0012_backfills_the_board_and_to_acknowledge_indexes(any_db):
    seed()
    env = ActivityEnvironment()
    runs = [stuck_run("idle"), stuck_run("late", ready_hours_ago=2, overdue_seconds=60),
            stuck_run("failed", ready_hours_ago=0, failed=True), stuck_run("old", ready_hours_ago=9)]
    for run in runs:
        PLAYS.save_play_run_state(Revision(revision=1, state=run))
    PLAYS.save_play_run_state(Revision(revision=2, state=stuck_run("ended", ready_hours_ago=1).model_copy(update={"status": RunStatus.completed})))
    env.run(SIGNALS.save_signal_state, Revision(revision=1, state=signal({"status": SignalStatus.escalated, "escalated_to": ["lee", "casey"]})))
    env.info = dataclasses.replace(env.info, workflow_id="signal-sig-done")
    env.run(SIGNALS.save_signal_state, Revision(revision=1, state=signal({"id": "sig-done", "status": SignalStatus.acknowledged, "acknowledged_by": "casey"})))

    def read() -> tuple:
        with Session(any_db) as session:
            found = board(session)
            return ([r.id for r in found.runs], found.total, found.overdue, found.failed, found.at_step,
                    to_acknowledge("casey"), to_acknowledge("lee"), to_acknowledge("maya"))

    written = read()
    assert written == (["failed", "late", "old", "idle"], 4, 1, 1, {"renewal_save": {"s": 3}}, ["sig-paths"], ["sig-paths"], [])
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    for target in ("0011", "head"):  # the rows as 0011's activities left them, then filled in by the migration
        with any_db.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, target) if target == "0011" else command.upgrade(config, target)
    assert read() == written
    with Session(any_db) as session:
        groups = dict(session.exec(text("SELECT id, board_group FROM play_runs")).all())
    assert groups == {"idle": 2, "late": 1, "failed": 0, "old": 1, "ended": None}


async def test_a_hand_edited_cursor_is_a_422_not_a_500(api):
    """Keys of the wrong type (a naive time, a list) never reach the database."""
    import base64
    import json

    for key in ([{"$t": "2026-01-01T00:00:00"}, "sig-x"], [["not", "a", "time"], "sig-x"], ["yesterday", "sig-x"]):
        cursor = base64.urlsafe_b64encode(json.dumps({"l": "signals", "k": key}).encode()).decode().rstrip("=")
        response = await api.http.get("/api/v1/signals", params={"cursor": cursor}, headers=api.auth("maya"))
        assert response.status_code == 422, (key, response.text)
        assert response.json()["error"]["details"] == {"field": "cursor"}
