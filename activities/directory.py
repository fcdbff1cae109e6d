"""Directory look-ups that workflows need while they run."""

from temporalio import activity

from core.db import session_scope
from models.routing import MANAGER_OF_OWNER
from models.signals import EscalationTargetRequest
from services.directory import holder_of_role, management_chain


@activity.defn
def resolve_escalation_target(request: EscalationTargetRequest) -> list[str]:
    """`manager`: the current owners' managers. A role: its holder on the account team, else the nearest
    holder above an owner. Nobody found → an empty list (the workflow records it)."""
    with session_scope() as session:
        if request.to != MANAGER_OF_OWNER:
            holder = holder_of_role(session, request.account_team, request.to, around=request.current_owner_ids)
            return [holder] if holder else []
        targets: list[str] = []
        for owner_id in request.current_owner_ids:
            chain = management_chain(session, owner_id)
            if chain and chain[0].id not in targets:
                targets.append(chain[0].id)
        return targets
