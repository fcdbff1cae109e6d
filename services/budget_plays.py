"""Plays that start relative to an account's calendar (issue 16): a renewal save `lead` before the customer's budget
window opens. The hourly detection sweep runs this; each start's run id is derived from (play, account, window start)
and started with a duplicate-rejecting id policy, so a retried or repeated sweep starts nothing twice."""

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from core.db import in_session_threaded
from core.errors import PillarError
from models.account_calendars import AccountCalendars, BudgetPlay, PhaseWindow
from models.plays import PlayStart
from models.scoring import TIER_RANK
from models.tables import Account, PlayRunRow
from plays import load_library
from services.account_calendars import current_account_calendars, next_windows, phases_at
from services.events import latest_score
from services.plays import build_play_start, launch

STARTED_BY = "budget-window"
log = logging.getLogger(__name__)


def budget_run_id(play_key: str, account_id: str, window: PhaseWindow) -> str:
    return f"run-budget-{play_key}-{account_id}-{window.starts_at:%Y%m%d}"


def _window_due(config: AccountCalendars, rule: BudgetPlay, account: Account, as_of: datetime) -> PhaseWindow | None:
    """The account's window of the rule's phase that is open now or opens within the lead (the sooner one)."""
    followed = config.for_account(account.id, account.motion)
    windows = [w for w in phases_at(followed, as_of) + next_windows(followed, as_of) if w.phase == rule.phase]
    due = [w for w in windows if w.starts_at - rule.lead <= as_of]
    return min(due, key=lambda w: w.starts_at, default=None)


def _renews_within(rule: BudgetPlay, account: Account, window: PhaseWindow, as_of: datetime) -> bool:
    """A renewal still ahead (a past date is stale data, not a renewal to save) and at most N days after the opening."""
    if rule.renewal_within_days is None or account.renewal_date is None:
        return False
    latest = (window.starts_at + timedelta(days=rule.renewal_within_days)).date()
    return as_of.date() <= account.renewal_date <= latest


def _named(session: Session, rule: BudgetPlay, account: Account, window: PhaseWindow, as_of: datetime) -> bool:
    if rule.renewal_within_days is None and rule.min_risk_tier is None:
        return True
    if _renews_within(rule, account, window, as_of):
        return True
    score = latest_score(session, account.id) if rule.min_risk_tier is not None else None
    return score is not None and TIER_RANK[score.renewal_risk.tier] >= TIER_RANK[rule.min_risk_tier]


def due_starts(session: Session, as_of: datetime) -> list[PlayStart]:
    """The budget plays due at `as_of` that have no run yet (an account nobody can run the play on is skipped)."""
    config, library, starts = current_account_calendars(session), load_library(), {}
    for rule in config.budget_plays:
        play = library.get(rule.play_key)
        if play is None:  # the config names a play the library no longer has: the rest of the sweep goes on
            log.warning("budget play %s: no such play in the library", rule.play_key)
            continue
        for account in session.exec(select(Account).order_by(Account.id)):
            window = _window_due(config, rule, account, as_of)
            if window is None or not _named(session, rule, account, window, as_of):
                continue
            run_id = budget_run_id(rule.play_key, account.id, window)
            if run_id in starts or session.get(PlayRunRow, run_id) is not None:
                continue
            try:
                starts[run_id] = build_play_start(session, play, account.id, None, STARTED_BY, run_id=run_id)
            except PillarError as error:
                log.warning("budget play %s for %s not started: %s", rule.play_key, account.id, error.message)
    return list(starts.values())


async def start_once(client: Client, start: PlayStart) -> bool:
    """Start the run unless its id has ever been used (running or closed): False when it had."""
    try:
        await launch(client, start, WorkflowIDConflictPolicy.FAIL, WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_due(session, client: Client, as_of: datetime) -> int:
    """Start each budget play due at `as_of`; how many this call started (0 when an earlier sweep had)."""
    return sum([await start_once(client, start) for start in await in_session_threaded(session, due_starts, as_of)])
