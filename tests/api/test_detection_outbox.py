"""Every stored event's signals open, and open once: the detection outbox, drained by the detection sweep even when
Temporal was down while the events came in; and inactivity detected on a schedule, not only on request."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import Client, ScheduleIntervalSpec, ScheduleOverlapPolicy

from core.db import get_engine, insert_missing
from core.settings import get_settings
from core.temporal import set_temporal_client
from models.detection import DetectionSweep, SweepResult
from models.tables import DetectedSignalRow, EventRow
from services.detection_sweep import OUTBOX_SCHEDULE_ID, SWEEP_SCHEDULE_ID, ensure_detection_schedules
from tests.support.accounts import make_account, signals_of
from tests.support.events import SCENARIO_END, bad_week, baseline
from tests.support.histories import record_history
from tests.support.stack import start_dev_server
from tests.support.waiting import eventually
from workflows.detection import DetectionSweepWorkflow

on_api = pytest.mark.asyncio(loop_scope="session")


async def temporal_gone_down() -> Client:
    """A client of a dev server that has stopped since: every call fails as it does when Temporal goes down."""
    server = await start_dev_server()
    await server.shutdown()
    return server.client


async def run_sweep(api, sweep: DetectionSweep, history: str | None = None) -> SweepResult:
    handle = await api.client.start_workflow(
        DetectionSweepWorkflow.run, sweep, id=f"detection-test-{uuid.uuid4().hex[:8]}",
        task_queue=get_settings().temporal_task_queue)
    result = await handle.result()
    if history:
        await record_history(handle, history)
    return result


async def listed_ids(api, account_id: str, expected: list[str]) -> bool:
    return sorted(s["id"] for s in await signals_of(api, account_id)) == expected


def outbox(account_id: str) -> list[DetectedSignalRow]:
    with Session(get_engine()) as session:
        return list(session.exec(select(DetectedSignalRow).where(DetectedSignalRow.account_id == account_id)))


@on_api
async def test_signals_detected_while_temporal_is_down_are_kept_with_the_events_and_open_once_when_it_answers(api):
    account_id = await make_account(api, "outbox")
    steady = await api.http.post("/api/v1/events/batch", json={"events": baseline(account_id)}, headers=api.auth("rory"))
    assert steady.status_code == 201, steady.text

    set_temporal_client(await temporal_gone_down())
    try:
        down = await api.http.post("/api/v1/events/batch", json={"events": bad_week(account_id)}, headers=api.auth("rory"))
    finally:
        set_temporal_client(api.client)
    assert down.status_code == 201, down.text  # the events are stored: the request says so, and what is still to do
    detected = down.json()["signals"]
    assert {s["family"] for s in detected} == {"renewal_risk", "champion_departed", "nps_decline"}
    assert all(s["status"] == "pending" and s["error"].startswith("queued:") for s in detected), detected
    assert {r.status for r in outbox(account_id)} == {"pending"} and await signals_of(api, account_id) == []

    drained = await run_sweep(api, DetectionSweep())
    assert drained.opened >= 3 and drained.pending == 0
    assert {r.id: r.status for r in outbox(account_id)} == {s["signal_id"]: "opened" for s in detected}
    expected = sorted(s["signal_id"] for s in detected)
    await eventually(lambda: listed_ids(api, account_id, expected))  # the read model follows the workflows

    again = await run_sweep(api, DetectionSweep())
    assert again.opened == 0 and again.pending == 0
    resent = await api.http.post("/api/v1/events/batch", json={"events": bad_week(account_id)}, headers=api.auth("rory"))
    assert resent.status_code == 201 and resent.json()["duplicates"] == len(bad_week(account_id))
    assert {(s["signal_id"], s["status"], s["new"]) for s in resent.json()["signals"]} == {
        (s["signal_id"], "opened", False) for s in detected}
    assert await listed_ids(api, account_id, expected)


@on_api
async def test_the_hourly_sweep_detects_inactivity_that_no_event_triggers(api):
    account_id = await make_account(api, "outbox-quiet", motion="credentialed")
    posted = await api.http.post("/api/v1/events/batch", json={"events": baseline(account_id)}, headers=api.auth("rory"))
    assert posted.status_code == 201, posted.text
    assert await signals_of(api, account_id, "adoption_decay") == []

    swept = await run_sweep(api, DetectionSweep(rescore=True, as_of=SCENARIO_END + timedelta(days=30)),
                            history="detection_sweep_rescored_the_book")
    assert swept.accounts >= 1 and swept.pending == 0
    [decay] = await eventually(lambda: signals_of(api, account_id, "adoption_decay"))
    assert decay["owners"] == ["casey"]
    assert [r.status for r in outbox(account_id) if r.family == "adoption_decay"] == ["opened"]


@on_api
async def test_the_worker_keeps_the_sweep_on_a_schedule_in_line_with_the_settings(api, monkeypatch):
    monkeypatch.setenv("DETECTION_OUTBOX_INTERVAL", "30")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        first = await ensure_detection_schedules(api.client, settings)
        second = await ensure_detection_schedules(api.client, settings)
    finally:
        monkeypatch.delenv("DETECTION_OUTBOX_INTERVAL")
        get_settings.cache_clear()
    assert {s.split()[0] for s in first} == {OUTBOX_SCHEDULE_ID, SWEEP_SCHEDULE_ID}
    assert all(s.endswith("updated") for s in second)
    for schedule_id, every in ((OUTBOX_SCHEDULE_ID, 30), (SWEEP_SCHEDULE_ID, 3600)):
        described = await api.client.get_schedule_handle(schedule_id).describe()
        assert described.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(seconds=every))]
        assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
        await api.client.get_schedule_handle(schedule_id).delete()


def test_two_writers_of_the_same_new_row_both_succeed_and_write_it_once(any_db):
    row = dict(id="evt-race", account_id="acme", kind="nps", occurred_at=SCENARIO_END, received_at=SCENARIO_END,
               external_id="race", payload={})
    with Session(get_engine()) as first, Session(get_engine()) as second:
        insert_missing(first, EventRow, [row])
        first.commit()
        insert_missing(second, EventRow, [row, {**row, "id": "evt-race-2"}])
        second.commit()
    with Session(get_engine()) as session:
        assert sorted(session.exec(select(EventRow.id).where(EventRow.external_id == "race"))) == ["evt-race", "evt-race-2"]
