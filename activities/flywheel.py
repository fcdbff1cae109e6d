"""FlywheelWorkflow's side effect: computing and storing the month's proposal; and RitualWorkflow's, storing a
retro's pattern as an observation proposal."""

from temporalio import activity

from activities import Sessions
from models.flywheel import ObservationRequest, ProposalCreated, ProposeRequest
from services.flywheel import store_observation, store_proposal
from workflows import activity_types


class FlywheelActivities(activity_types.FlywheelActivities):
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    @activity.defn
    def propose_flywheel_changes(self, request: ProposeRequest) -> ProposalCreated:
        """Idempotent: the proposal's id comes from the run's time, so a retry finds the one it stored."""
        with self.sessions() as session:
            return store_proposal(session, request)

    @activity.defn
    def propose_pattern(self, request: ObservationRequest) -> str:
        """The retro's pattern becomes an observation proposal (once per agenda: a retry finds it): its id."""
        with self.sessions() as session:
            return store_observation(session, request)
