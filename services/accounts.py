"""An account as its pages and the API read it: latest scores, financials now, and the book at a glance."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from models.financials import Financials
from models.scoring import RiskTier, ScorePoint
from models.tables import Account, AccountScoreRow, PlayRunRow, SignalRow
from services.events import latest_score, score_point
from services.financials import account_financials
from services.layer_config import current_cost_model
from services.visibility import Viewer, only_visible


def financials_now(session: Session, account: Account) -> Financials:
    """ARR at risk, save vs replace and NRR impact from the latest score and the cost model in force."""
    score = latest_score(session, account.id)
    model = current_cost_model(session)
    book = session.exec(select(func.coalesce(func.sum(Account.arr), 0))).one()
    return account_financials(
        account.id, account.arr, score.renewal_risk.tier if score else RiskTier.low, score.renewal_risk.value if score else 0,
        model, model.version, book, score.as_of if score else None,
    )


@dataclass
class AccountLine:
    account: Account
    score: ScorePoint | None
    open_signals: int
    running_plays: int


def book(session: Session, viewer: Viewer | None = None) -> list[AccountLine]:
    """Every account (the viewer may see) with its latest score and what is open on it, riskiest first (a handful of
    queries in all)."""
    latest_ids = select(func.max(AccountScoreRow.id)).group_by(AccountScoreRow.account_id)
    rows = session.exec(select(AccountScoreRow).where(AccountScoreRow.id.in_(latest_ids)))
    scores = {r.account_id: score_point(r) for r in rows}
    signals = dict(session.exec(select(SignalRow.account_id, func.count()).where(SignalRow.status != "resolved")
                                .group_by(SignalRow.account_id)).all())
    plays = dict(session.exec(select(PlayRunRow.account_id, func.count()).where(PlayRunRow.status == "running")
                              .group_by(PlayRunRow.account_id)).all())
    lines = [AccountLine(a, scores.get(a.id), signals.get(a.id, 0), plays.get(a.id, 0))
             for a in session.exec(only_visible(select(Account), Account, viewer).order_by(Account.name))]
    return sorted(lines, key=lambda line: -(line.score.renewal_risk if line.score else -1))
