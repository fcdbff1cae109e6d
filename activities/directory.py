"""Directory look-ups that workflows need while they run."""

from temporalio import activity

from activities import Sessions
from models.routing import MANAGER_OF_OWNER
from models.signals import EscalationTargetRequest
from services.directory import holder_of_role, management_chain
from workflows import activity_types


class DirectoryActivities(activity_types.DirectoryActivities):
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn
    def resolve_escalation_target(self, request: EscalationTargetRequest) -> list[str]:
        """`manager`: the current owners' managers. A role: its holder on the account team, else the nearest
        holder above an owner. Nobody found → an empty list (the workflow records it)."""
        with self.sessions() as session:
            if request.to != MANAGER_OF_OWNER:
                holder = holder_of_role(session, request.account_team, request.to, around=request.current_owner_ids)
                return [holder] if holder else []
            targets: list[str] = []
            for owner_id in request.current_owner_ids:
                chain = management_chain(session, owner_id)
                if chain and chain[0].id not in targets:
                    targets.append(chain[0].id)
            return targets
