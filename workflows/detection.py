"""DetectionSweepWorkflow: started by the detection schedules. Opens the detected signals still waiting in the outbox
(a request that stored events and then lost Temporal left them there) and, on the hourly run, rescores the book first
for the conditions no event triggers (inactivity)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from models.detection import DetectionSweep, SweepResult
    from workflows.activity_types import DetectionActivities
    from workflows.ritual import SCHEDULED_START


@workflow.defn
class DetectionSweepWorkflow:
    @workflow.run
    async def run(self, sweep: DetectionSweep) -> SweepResult:
        as_of = sweep.as_of or workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()
        return await workflow.execute_activity_method(
            DetectionActivities.sweep,
            sweep.model_copy(update={"as_of": as_of}),
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1),
                                     maximum_attempts=5),
        )
