from fastapi import APIRouter, Query

from api.deps import CurrentUser, PathId, SessionDep
from api.errors import ERROR_RESPONSES
from core.errors import PillarError
from models.financials import Financials
from models.scoring import AccountScore, ScorePoint
from models.tables import Account
from services.accounts import financials_now
from services.events import latest_score, score_history
from api.visibility import sees

router = APIRouter(prefix="/api/v1/accounts", tags=["scores"], responses=ERROR_RESPONSES,
                   dependencies=[sees("account", "account_id")])


def _account(session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("not_found", f"no account {account_id!r}")
    return account


@router.get("/{account_id}/score", response_model=AccountScore)
def get_score(account_id: PathId, session: SessionDep, _: CurrentUser) -> AccountScore:
    """Health, renewal risk (and tier), forecast confidence and pipeline quality: every component with its value,
    weight, contribution and evidence event ids, and the explanation in words."""
    _account(session, account_id)
    score = latest_score(session, account_id)
    if score is None:
        raise PillarError("not_found", f"account {account_id!r} has no score yet: it has no events")
    return score


@router.get("/{account_id}/score/history", response_model=list[ScorePoint])
def get_score_history(account_id: PathId, session: SessionDep, _: CurrentUser, limit: int = Query(500, ge=1, le=5000)) -> list[ScorePoint]:
    """Every recomputation, oldest first: how the scores moved over time."""
    _account(session, account_id)
    return score_history(session, account_id, limit)


@router.get("/{account_id}/financials", response_model=Financials)
def get_financials(account_id: PathId, session: SessionDep, _: CurrentUser) -> Financials:
    """ARR at risk, cost to save vs cost to replace (from the cost model) and the NRR impact of losing the account."""
    return financials_now(session, _account(session, account_id))
