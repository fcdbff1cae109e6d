"""Account calendars on the time-skipping server: the hourly detection sweep (DetectionSweepWorkflow, real activities
on SQLite) judges an academic account's inactivity by the phase of its year it is in at the sweep's own time — the
motion's 45 days before exams, 60 days during them, 45 again once they end — as the clock crosses both boundaries."""

from datetime import timedelta

from pydantic import TypeAdapter
from sqlmodel import Session, select

from core import config_store
from core.db import get_engine
from core.settings import get_settings
from models.account_calendars import AccountCalendarsIn
from models.detection import DetectionSweep
from models.events import AccountEvent
from models.tables import DetectedSignalRow
from services.account_calendars import ACCOUNT_CALENDARS, account_calendar
from services.events import ingest
from services.layer_config import current_definitions
from workflows.detection import DetectionSweepWorkflow


def exams_for_initech(first, last) -> None:
    """Initech (academic) follows one calendar: exams from `first` to `last`, whole days in UTC."""
    calendars = AccountCalendarsIn.model_validate({
        "calendars": [{"key": "initech_term", "name": "Initech's term", "kind": "academic", "timezone": "UTC",
                       "phases": [{"name": "exams", "start": first.isoformat(), "end": last.isoformat()}]}],
        "by_account": {"initech": ["initech_term"]}})
    with Session(get_engine()) as session:
        config_store.append(session, ACCOUNT_CALENDARS, calendars.model_dump(mode="json"), created_by="rory")


def decays() -> list[DetectedSignalRow]:
    with Session(get_engine()) as session:
        return session.exec(select(DetectedSignalRow).where(DetectedSignalRow.account_id == "initech",
                                                            DetectedSignalRow.family == "adoption_decay")).all()


def phase_now(at) -> tuple[list[str], dict]:
    with Session(get_engine()) as session:
        view = account_calendar(session, "initech", at, current_definitions(session))
    return [w.phase for w in view.phases_now], view.thresholds_today["adoption_decay"]


async def sweep(env, n: int) -> None:
    """One hourly sweep, started now (on the skipped clock): it rescores the book at workflow.now(). The clock stands
    still meanwhile (waiting on a result would otherwise skip to the next timer of any workflow)."""
    with env.auto_time_skipping_disabled():
        await env.client.execute_workflow(DetectionSweepWorkflow.run, DetectionSweep(rescore=True), id=f"sweep-phases-{n}",
                                          task_queue=get_settings().temporal_task_queue)


async def test_inactivity_is_judged_by_the_phase_the_account_is_in_as_the_clock_crosses_it(ts_env, ts_worker):
    now = await ts_env.get_current_time()
    exams_for_initech((now + timedelta(days=2)).date(), (now + timedelta(days=10)).date())
    last_use = {"kind": "product_usage", "account_id": "initech", "occurred_at": (now - timedelta(days=40)).isoformat(),
                "active_users": 60, "seats": 100}
    with Session(get_engine()) as session:
        await ingest(session, None, [TypeAdapter(AccountEvent).validate_python(last_use)], "test")

    await sweep(ts_env, 1)  # 40 days quiet, before exams: the motion's 45 days
    assert phase_now(await ts_env.get_current_time()) == ([], {"inactive_days": 45})
    assert decays() == []

    await ts_env.sleep(timedelta(days=7))  # 47 days quiet, in exams: 60 days
    await sweep(ts_env, 2)
    assert phase_now(await ts_env.get_current_time()) == (["exams"], {"inactive_days": 60})
    assert decays() == []

    await ts_env.sleep(timedelta(days=5))  # 52 days quiet, exams over: 45 days again, and it fires
    await sweep(ts_env, 3)
    assert phase_now(await ts_env.get_current_time()) == ([], {"inactive_days": 45})
    [decay] = decays()
    assert decay.request["evidence"]["thresholds"] == {"inactive_days": 45}
    assert decay.request["evidence"]["measured"]["inactive_days"] >= 52
