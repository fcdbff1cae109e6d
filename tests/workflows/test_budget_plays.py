"""Renewal plays that start relative to the budget window, on the time-skipping server: the hourly detection sweep
(real activities on SQLite) starts the account's Renewal Save once `lead` before its budget window opens — nothing
before, one after, nothing more on a second sweep or a retried start — and only for the accounts the config names."""

from datetime import timedelta

from sqlmodel import Session

from core import config_store
from core.db import get_engine
from core.settings import get_settings
from models.account_calendars import AccountCalendarsIn
from models.detection import DetectionSweep
from models.tables import Account
from services import budget_plays
from services.account_calendars import ACCOUNT_CALENDARS
from services.plays import build_play_start, find_play, workflow_id_for
from workflows.detection import DetectionSweepWorkflow


def budget_window_from(first, last) -> None:
    """Acme and Initech follow one fiscal calendar whose budget window runs `first` to `last`; a Renewal Save starts
    30 days before it opens for an account renewing within 120 days of the opening."""
    calendars = AccountCalendarsIn.model_validate({
        "calendars": [{"key": "fiscal_test", "name": "A fiscal year", "kind": "fiscal", "timezone": "UTC",
                       "phases": [{"name": "budget_window", "start": first.isoformat(), "end": last.isoformat()}]}],
        "by_account": {"acme": ["fiscal_test"], "initech": ["fiscal_test"]},
        "budget_plays": [{"play_key": "renewal_save", "lead": "P30D", "renewal_within_days": 120}]})
    with Session(get_engine()) as session:
        config_store.append(session, ACCOUNT_CALENDARS, calendars.model_dump(mode="json"), created_by="rory")


def renewals(**on) -> None:
    with Session(get_engine()) as session:
        for account_id, renewal in on.items():
            account = session.get(Account, account_id)
            account.renewal_date = renewal
            session.add(account)
        session.commit()


async def sweep(env, n: int) -> int:
    """One hourly sweep at the skipped clock's now (which stands still meanwhile); how many budget plays it started."""
    with env.auto_time_skipping_disabled():
        result = await env.client.execute_workflow(DetectionSweepWorkflow.run, DetectionSweep(rescore=True),
                                                   id=f"sweep-budget-{n}", task_queue=get_settings().temporal_task_queue)
    return result.budget_plays


async def test_a_renewal_save_starts_once_thirty_days_before_the_budget_window(ts_env, ts_worker):
    now = await ts_env.get_current_time()
    opens = (now + timedelta(days=40)).date()
    budget_window_from(opens, opens + timedelta(days=60))
    renewals(acme=opens + timedelta(days=90), initech=opens + timedelta(days=200))  # initech renews too late to be named

    assert await sweep(ts_env, 1) == 0  # 40 days before the window: the lead has not begun

    await ts_env.sleep(timedelta(days=11))  # 29 days before: within the lead
    assert await sweep(ts_env, 2) == 1
    run_id = f"run-budget-renewal_save-acme-{opens:%Y%m%d}"
    with ts_env.auto_time_skipping_disabled():
        started = await ts_env.client.get_workflow_handle(workflow_id_for(run_id)).describe()
    assert started.workflow_type == "PlayWorkflow"

    assert await sweep(ts_env, 3) == 0  # the next hour's sweep: already started for this window
    with Session(get_engine()) as session:  # a retried start (its read model not yet written): the run id refuses it
        again = build_play_start(session, find_play("renewal_save"), "acme", None, budget_plays.STARTED_BY, run_id=run_id)
    with ts_env.auto_time_skipping_disabled():
        assert await budget_plays.start_once(ts_env.client, again) is False
