"""The detection sweep's two Temporal Schedules: the outbox drain (often, cheap when nothing is pending) and the
book's rescoring for time-based conditions such as inactivity (hourly by default). The worker keeps them in line
with the settings on start."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from core.settings import Settings
from core.temporal import put_schedule
from models.detection import DetectionSweep
from workflows.detection import DetectionSweepWorkflow

OUTBOX_SCHEDULE_ID = "detection-outbox"
SWEEP_SCHEDULE_ID = "detection-sweep"


def detection_schedules(settings: Settings) -> dict[str, Schedule]:
    def every(seconds: float, sweep: DetectionSweep, schedule_id: str) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(DetectionSweepWorkflow.run, sweep, id=schedule_id,
                                               task_queue=settings.temporal_task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
            # a sweep still running when the next is due makes the next one needless
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(seconds=seconds)),
        )

    return {
        OUTBOX_SCHEDULE_ID: every(settings.detection_outbox_interval, DetectionSweep(), OUTBOX_SCHEDULE_ID),
        SWEEP_SCHEDULE_ID: every(settings.detection_sweep_interval, DetectionSweep(rescore=True), SWEEP_SCHEDULE_ID),
    }


async def ensure_detection_schedules(client: Client, settings: Settings) -> list[str]:
    """Create the schedules, or bring them in line with the settings (idempotent). Returns what it did."""
    return [f"{sid} {await put_schedule(client, sid, schedule)}" for sid, schedule in detection_schedules(settings).items()]
