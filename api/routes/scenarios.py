from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.financials import NrrScenario, NrrScenarioIn
from services.scenarios import nrr_for

router = APIRouter(prefix="/api/v1/scenarios", tags=["decisions"], responses=ERROR_RESPONSES)


@router.post("/nrr", response_model=NrrScenario)
def nrr(body: NrrScenarioIn, session: SessionDep, user: CurrentUser) -> NrrScenario:
    """NRR of the whole book if the given accounts are lost (and `expansion_arr` is won). An account the caller
    may not see counts as unknown."""
    return nrr_for(session, body, user)
