"""The inventory import: what a team tracks today, read against the directory and routing before routing goes live."""

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import Principal, SessionDep, require_roles
from api.errors import ERROR_RESPONSES
from models.common import Role
from models.inventory import InventoryIn, InventoryReport
from services import inventory

router = APIRouter(prefix="/api/v1/inventory", tags=["inventory"], responses=ERROR_RESPONSES)

Importer = Annotated[Principal, Depends(require_roles(Role.revops))]


@router.post("/import", response_model=InventoryReport)
def import_inventory(body: InventoryIn, session: SessionDep, _: Importer) -> InventoryReport:
    """Read a CSV of the signals, owners and tasks a team tracks today (revops, admin): how many have no defined
    owner (blank, a name the directory does not know, someone disabled), and what routing would do with each signal
    row — route it, find no rule, find the owner role unfilled, or change its owner. Nothing is stored or started;
    unreadable rows are listed by line."""
    return inventory.analyze(session, body.csv)
