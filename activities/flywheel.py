"""FlywheelWorkflow's side effect: computing and storing the month's proposal."""

from temporalio import activity

from core.db import session_scope
from models.flywheel import ProposalCreated, ProposeRequest
from services.flywheel import store_proposal


@activity.defn
def propose_flywheel_changes(request: ProposeRequest) -> ProposalCreated:
    """Idempotent: the proposal's id comes from the run's time, so a retry finds the one it stored."""
    with session_scope() as session:
        return store_proposal(session, request)
