from fastapi import APIRouter

from api.deps import CurrentUser, PathId, SessionDep
from api.errors import ERROR_RESPONSES
from api.visibility import sees
from models.channels import DeliveryOut
from services.channels import deliveries_for_signal

router = APIRouter(prefix="/api/v1/signals", tags=["signals"], responses=ERROR_RESPONSES)


@router.get("/{signal_id}/deliveries", response_model=list[DeliveryOut], dependencies=[sees("signal", "signal_id")])
def signal_deliveries(signal_id: PathId, session: SessionDep, _: CurrentUser) -> list[DeliveryOut]:
    """The delivery log of the signal's pages (its tasks' included): per person and channel, its status, attempts,
    last error, when it was delivered and, when quiet hours held it back, until when. Destinations are not shown."""
    return deliveries_for_signal(session, signal_id)
