"""An account's calendar: the phase of its year it is in, the next windows, and the thresholds that apply today."""

from fastapi import APIRouter, Query

from api.deps import CurrentUser, PathId, SessionDep
from api.errors import ERROR_RESPONSES
from api.visibility import sees
from models.account_calendars import AccountCalendarView
from models.common import Instant
from services.account_calendars import account_calendar
from services.layer_config import current_definitions

router = APIRouter(prefix="/api/v1/accounts", tags=["calendars"], responses=ERROR_RESPONSES,
                   dependencies=[sees("account", "account_id")])


@router.get("/{account_id}/calendar", response_model=AccountCalendarView)
def get_account_calendar(account_id: PathId, session: SessionDep, _: CurrentUser,
                         at: Instant | None = Query(default=None, description="The moment to read (default: now)")) -> AccountCalendarView:
    """The calendars the account follows (its own, else its motion's, from /api/v1/config/account-calendars), the
    phases it is in at `at` (mid-term, exams, a pre-assessment or budget window …), the next start of each phase, and
    what they change today: each signal family's thresholds and the families quiet in the current phase."""
    return account_calendar(session, account_id, at, current_definitions(session))
