"""Which accounts a budget play names, on the database: a renewal risk tier at least the rule's (scored from a bad
week), not an account without that risk; a renewal within N days of the opening, not one already past; and a rule
naming a play the library lacks is passed over, not fatal to the detection sweep that runs it."""

from datetime import timedelta

from pydantic import TypeAdapter
from sqlmodel import Session

from core import config_store
from core.seed import load_default_config, load_demo_directory
from models.account_calendars import AccountCalendarsIn
from models.events import AccountEvent
from models.tables import Account
from services.account_calendars import ACCOUNT_CALENDARS
from services.budget_plays import due_starts
from services.demo_book import REFERENCE_START, RENEWAL_LEAD, bad_week, baseline, week_end
from services.events import ingest, latest_score

AS_OF = week_end(REFERENCE_START)


def calendar_with(session: Session, opens, *rules: dict) -> None:
    """Acme and Initech follow a fiscal calendar whose budget window opens on `opens`."""
    config_store.append(session, ACCOUNT_CALENDARS, AccountCalendarsIn.model_validate({
        "calendars": [{"key": "fy", "name": "Fiscal", "kind": "fiscal", "timezone": "UTC",
                       "phases": [{"name": "budget_window", "start": opens.isoformat(),
                                   "end": (opens + timedelta(days=30)).isoformat()}]}],
        "by_account": {"acme": ["fy"], "initech": ["fy"]}, "budget_plays": list(rules),
    }).model_dump(mode="json"), created_by="rory")


async def test_a_budget_play_names_accounts_at_high_risk_or_renewing_within_n_days(sqlite_db):
    with Session(sqlite_db) as session:
        load_default_config(session)
        load_demo_directory(session, "budget-admin-token-0123")
        for account_id in ("acme", "initech"):
            account = session.get(Account, account_id)
            account.renewal_date = (AS_OF + RENEWAL_LEAD).date()
            session.add(account)
        session.commit()
        events = TypeAdapter(list[AccountEvent]).validate_python(baseline("acme") + bad_week("acme"))
        await ingest(session, None, events, "test")
        assert latest_score(session, "acme").renewal_risk.tier == "critical"

        opens = (AS_OF + timedelta(days=10)).date()
        calendar_with(session, opens, {"play_key": "no_such_play", "lead": "P30D"},
                      {"play_key": "renewal_save", "lead": "P30D", "min_risk_tier": "high"})
        [start] = due_starts(session, AS_OF)
        assert (start.account.id, start.play.key, start.id) == ("acme", "renewal_save", f"run-budget-renewal_save-acme-{opens:%Y%m%d}")
        assert start.started_by == "budget-window"
        assert due_starts(session, AS_OF - timedelta(days=21)) == []  # 31 days before the window: not yet

        # by renewal date: a renewal already past is stale data, not a renewal to save
        initech = session.get(Account, "initech")
        initech.renewal_date = (AS_OF - timedelta(days=10)).date()
        session.add(initech)
        session.commit()
        calendar_with(session, opens, {"play_key": "renewal_save", "lead": "P30D", "renewal_within_days": 120})
        assert [s.account.id for s in due_starts(session, AS_OF)] == ["acme"]
