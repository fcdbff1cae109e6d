from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.assessment import Assessment
from services.assessment import assess

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"], responses=ERROR_RESPONSES)


@router.get("", response_model=Assessment)
def get_assessment(session: SessionDep, _: CurrentUser) -> Assessment:
    """The fifteen Phase-2 questions (seams 01–04, cadence, multi-product, flywheel), each answered yes or no from
    Pillar's data with the figure behind it. Nothing to judge yet counts as no."""
    return assess(session)
