"""After `ops reset` (issue 14 item 8), on the dev server: the read models follow the new run (which counts revisions,
audit seqs and pages from the reset point again), the handoff audit keeps both runs' transitions once, the new run's
pages are recorded beside the old run's; `ops reconcile` rebuilds a corrupted row from the workflow's state."""

import pytest
from sqlmodel import Session, delete, select
from temporalio.api.enums.v1 import EventType

from core.db import get_engine
from models.tables import HandoffAuditRow, HandoffRow, NotificationRow, PlayRunRow, SignalOwnerRow, SignalRow
from services.handoffs import handoff_handle
from services.plays import play_handle
from services.signals import signal_handle
from tests.support.http import assert_error, post_signal
from tests.support.waiting import eventually
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow
from workflows.signal import SignalWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

COMPLETE = {
    "buying_criteria": ["SSO"], "champion_map": {"champion": "Dr. Ruiz"}, "procurement_timeline": "PO by March",
    "known_risks": ["budget freeze"], "open_commitments": ["SSO by Q2"], "related_signals": ["sig-1"],
}


async def reset_to_first_task(api, handle) -> tuple[str, str]:
    """Reset to the first completed workflow task: the new run does everything after it again. (old, new) run ids."""
    history = await handle.fetch_history()
    first = next(e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    old_run = (await handle.describe()).run_id
    response = await api.http.post(f"/api/v1/ops/executions/{handle.id}/reset", json={"reason": "re-run", "event_id": first},
                                   headers=api.auth("olga"))
    assert response.status_code == 200, response.text
    return old_run, response.json()["new_run_id"]


def row_of(table, key):
    with Session(get_engine()) as session:
        return session.get(table, key)


def signal_row_state(signal_id: str) -> tuple[str | None, dict]:
    row = row_of(SignalRow, signal_id)
    return (row.run_id, {k: v for k, v in row.state.items() if k != "revision"}) if row else (None, {})


async def test_a_reset_signals_read_model_and_pages_follow_the_new_run(api):
    created = (await post_signal(api)).json()
    handle = signal_handle(api.client, created["id"])

    async def saved(run_id=None):
        state = (await handle.query(SignalWorkflow.state)).model_dump(mode="json")
        stored_run, stored = signal_row_state(created["id"])
        return any(e["type"] == "paged" for e in state["timeline"]) and stored == state and stored_run == (run_id or stored_run)

    await eventually(saved)
    old_run, new_run = await reset_to_first_task(api, handle)
    await eventually(lambda: saved(new_run))  # the new run's revision 1 is not "≤ stored": its state is the row's

    with Session(get_engine()) as session:
        pages = session.exec(select(NotificationRow.id).where(NotificationRow.subject_id == created["id"],
                                                              NotificationRow.user_id == "lee")).all()
    assert sorted(pages) == sorted(f"{created['workflow_id']}:page-1:{run}:lee" for run in (old_run, new_run))

    ack = await api.http.post(f"/api/v1/signals/{created['id']}/acknowledge", headers=api.auth("lee"))
    assert ack.status_code == 200, ack.text
    listed = await api.http.get("/api/v1/signals", params={"owner_id": "lee", "status": "acknowledged"}, headers=api.auth("lee"))
    assert created["id"] in [s["id"] for s in listed.json()]
    assert row_of(SignalRow, created["id"]).run_id == new_run


async def test_a_reset_handoff_records_the_new_runs_transitions_beside_the_old_ones(api):
    body = {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "lee", "fields": COMPLETE}
    handoff = (await api.http.post("/api/v1/handoffs", json=body, headers=api.auth("alex"))).json()
    submitted = await api.http.post(f"/api/v1/handoffs/{handoff['id']}/submit", headers=api.auth("alex"))
    assert submitted.status_code == 200, submitted.text
    handle = handoff_handle(api.client, handoff["id"])
    old_run, new_run = await reset_to_first_task(api, handle)

    async def follows_new_run():
        state = (await handle.query(HandoffWorkflow.state)).model_dump(mode="json")
        row = row_of(HandoffRow, handoff["id"])
        stored = {k: v for k, v in row.state.items() if k != "field_seqs"}  # which seq set each field: the row's own
        with Session(get_engine()) as session:
            rows = session.exec(select(HandoffAuditRow).where(HandoffAuditRow.handoff_id == handoff["id"])).all()
        audited = len([r for r in rows if r.run_id == new_run]) == 2
        return audited and row.run_id == new_run and stored == state and state["status"] == "submitted" and rows

    rows = await eventually(follows_new_run)  # the submission (an update) is applied again in the new run
    by_run = {run: [(r.seq, r.action) for r in sorted(rows, key=lambda r: r.seq) if r.run_id == run] for run in (old_run, new_run)}
    # the new run counts seq from 1 again (it takes the reapplied submission before its own start's "created")
    assert by_run[old_run] == [(1, "created"), (2, "submitted")]
    assert sorted(by_run[new_run]) in ([(1, "created"), (2, "submitted")], [(1, "submitted"), (2, "created")])
    audit = (await api.http.get(f"/api/v1/handoffs/{handoff['id']}/audit", headers=api.auth("alex"))).json()
    assert len(audit) == 4 and [e["action"] for e in audit[:2]] == ["created", "submitted"]  # by time: the old run first
    assert sorted(e["action"] for e in audit[2:]) == ["created", "submitted"]
    assert [e["at"] for e in audit] == sorted(e["at"] for e in audit)


async def test_a_reset_play_runs_row_follows_the_new_run(api):
    signal = (await post_signal(api)).json()
    await api.http.post(f"/api/v1/signals/{signal['id']}/acknowledge", headers=api.auth("lee"))
    body = {"play_key": "renewal_save", "account_id": "acme", "signal_id": signal["id"]}
    created = (await api.http.post("/api/v1/play-runs", json=body, headers=api.auth("casey"))).json()
    handle = play_handle(api.client, created["id"])

    async def stored_steps_match(run_id=None):
        row = row_of(PlayRunRow, created["id"])
        state = await handle.query(PlayWorkflow.state)
        return row is not None and row.run_id == (run_id or row.run_id) and [s["ready_at"] for s in row.state["steps"]] == [
            s.ready_at and s.ready_at.isoformat().replace("+00:00", "Z") for s in state.steps]

    await eventually(stored_steps_match)
    _, new_run = await reset_to_first_task(api, handle)
    await eventually(lambda: stored_steps_match(new_run))  # the steps became ready again, later, in the new run

    with Session(get_engine()) as session:  # a row gone wrong, then rebuilt from the run's state
        row = session.get(PlayRunRow, created["id"])
        revision, row.status, row.stuck_step_key = row.revision, "cancelled", None
        session.add(row)
        session.commit()
    response = await api.http.post(f"/api/v1/ops/executions/{created['workflow_id']}/reconcile", headers=api.auth("olga"))
    assert response.status_code == 200 and response.json()["rebuilt"], response.text
    row = row_of(PlayRunRow, created["id"])
    assert (row.status, row.run_id, row.revision) == ("running", new_run, revision) and row.stuck_step_key
    assert await stored_steps_match(new_run)


async def test_reconcile_rebuilds_a_handoffs_row(api):
    body = {"kind": "ae_to_csm", "account_id": "acme", "to_user_id": "lee", "fields": COMPLETE}
    handoff = (await api.http.post("/api/v1/handoffs", json=body, headers=api.auth("alex"))).json()
    await eventually(lambda: row_of(HandoffRow, handoff["id"]) is not None)
    with Session(get_engine()) as session:
        row = session.get(HandoffRow, handoff["id"])
        row.status = "accepted"
        session.add(row)
        session.commit()
    response = await api.http.post(f"/api/v1/ops/executions/handoff-{handoff['id']}/reconcile", headers=api.auth("admin"))
    assert response.status_code == 200 and response.json()["rebuilt"], response.text
    assert row_of(HandoffRow, handoff["id"]).status == "draft"


async def test_reconcile_rebuilds_a_corrupted_row_from_the_workflows_state(api):
    created = (await post_signal(api)).json()
    handle = signal_handle(api.client, created["id"])
    await eventually(lambda: row_of(SignalRow, created["id"]) is not None and row_of(SignalRow, created["id"]).owner_ids)
    truth = signal_row_state(created["id"])
    with Session(get_engine()) as session:  # a row gone wrong: another status, nobody owning it
        row = session.get(SignalRow, created["id"])
        row.status, row.owner_ids, row.state = "resolved", [], {**row.state, "status": "resolved"}
        session.add(row)
        session.exec(delete(SignalOwnerRow).where(SignalOwnerRow.signal_id == created["id"]))
        session.commit()

    url = f"/api/v1/ops/executions/{created['workflow_id']}/reconcile"
    assert_error(await api.http.post(url, headers=api.auth("lee")), 403, "forbidden")
    assert_error(await api.http.post("/api/v1/ops/executions/signal-nope/reconcile", headers=api.auth("olga")), 404, "not_found")
    response = await api.http.post(url, headers=api.auth("olga"))
    assert response.status_code == 200, response.text
    run_id = (await handle.describe()).run_id
    assert response.json() == {"workflow_id": created["workflow_id"], "run_id": run_id, "workflow_type": "SignalWorkflow",
                               "rebuilt": True, "error": None}
    assert signal_row_state(created["id"]) == truth
    row = row_of(SignalRow, created["id"])
    assert row.status == "open" and row.owner_ids == ["lee", "alex"]
    listed = await api.http.get("/api/v1/signals", params={"owner_id": "lee", "status": "open"}, headers=api.auth("lee"))
    assert created["id"] in [s["id"] for s in listed.json()]

    async def bulk():  # the most recent running signal first: this one, once visibility has it
        response = await api.http.post("/api/v1/ops/executions/reconcile", params={"limit": 1, "workflow_type": "SignalWorkflow"},
                                       headers=api.auth("olga"))
        assert response.status_code == 200, response.text
        return response if [r["workflow_id"] for r in response.json()] == [created["workflow_id"]] else None

    page = await eventually(bulk)
    assert page.json()[0]["rebuilt"] is True and page.json()[0]["error"] is None and page.headers.get("X-Next-Cursor")
    assert_error(await api.http.post("/api/v1/ops/executions/reconcile", headers=api.auth("casey")), 403, "forbidden")


async def test_reconcile_answers_503_when_no_worker_answers(api, own_task_queue):
    created = (await post_signal(api)).json()  # on a task queue no worker polls
    try:
        response = await api.http.post(f"/api/v1/ops/executions/{created['workflow_id']}/reconcile", headers=api.auth("olga"))
        assert_error(response, 503, "unavailable", "no worker")

        async def bulk_refused():  # once visibility lists it first: the only execution on the page, and it cannot answer
            response = await api.http.post("/api/v1/ops/executions/reconcile", params={"limit": 1, "workflow_type": "SignalWorkflow"},
                                           headers=api.auth("olga"))
            return response if response.status_code == 503 else None

        assert_error(await eventually(bulk_refused, timeout=30), 503, "unavailable", "no worker")
    finally:
        await signal_handle(api.client, created["id"]).terminate(reason="test over")
