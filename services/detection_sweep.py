"""The detection sweep's two Temporal Schedules: the outbox drain (often, cheap when nothing is pending) and the
book's rescoring for time-based conditions such as inactivity (hourly by default). The worker keeps them in line
with the settings on start."""

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)

from core.settings import Settings
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
    done = []
    for schedule_id, schedule in detection_schedules(settings).items():
        try:
            await client.create_schedule(schedule_id, schedule)
            done.append(f"{schedule_id} created")
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id).update(lambda _, s=schedule: ScheduleUpdate(schedule=s))
            done.append(f"{schedule_id} updated")
    return done
