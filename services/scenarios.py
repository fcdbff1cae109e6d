"""Decision scenarios (Layer III) as callers ask them: the API's POST /api/v1/scenarios/nrr and the MCP tool."""

from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import PillarError
from models.financials import LostAccount, NrrScenario, NrrScenarioIn
from models.tables import Account
from services.events import latest_score
from services.financials import nrr_scenario
from services.visibility import Viewer, only_visible


def nrr_for(session: Session, body: NrrScenarioIn, viewer: Viewer) -> NrrScenario:
    """NRR of the whole book if the given accounts are lost; an account the viewer may not see counts as unknown."""
    ids = list(dict.fromkeys(body.account_ids))
    accounts = {a.id: a for a in session.exec(only_visible(select(Account).where(Account.id.in_(ids)), Account, viewer))}
    unknown = [i for i in ids if i not in accounts]
    if unknown:
        raise PillarError("invalid", f"unknown account(s): {', '.join(unknown)}", {"field": "account_ids", "unknown": unknown})
    lost = []
    for account_id in ids:
        score = latest_score(session, account_id)
        lost.append(LostAccount(id=account_id, arr=accounts[account_id].arr, risk_tier=score.renewal_risk.tier if score else None))
    book = session.exec(select(func.coalesce(func.sum(Account.arr), 0))).one()
    return nrr_scenario(book, lost, body.expansion_arr)
