"""The Temporal worker: every Pillar workflow and activity on one task queue."""

import asyncio
import compileall
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from activities.detection import DetectionActivities
from activities.directory import resolve_escalation_target
from activities.flywheel import propose_flywheel_changes
from activities.handoffs import apply_handoff_team_change, open_governance_violation, record_handoff_transition
from activities.notifications import deliver_webhook, record_notifications
from activities.plays import report_play_outcome, save_play_run
from activities.play_actions import log_step_to_crm
from activities.rituals import build_agenda, post_agenda, prepare_ritual, save_ritual
from activities.signals import page_and_save_signal, save_signal
from activities.tasks import save_tasks
from core.db import get_async_engine, migrate, session_scope
from core.settings import get_settings
from core.temporal import get_temporal_client, worker_runtime
from core.tracing import start_tracing
from workflows.detection import DetectionSweepWorkflow
from workflows.flywheel import FlywheelWorkflow
from workflows.handoff import HandoffWorkflow
from workflows.play import PlayWorkflow
from workflows.ritual import RitualWorkflow
from workflows.signal import SignalWorkflow

WORKFLOWS = [SignalWorkflow, PlayWorkflow, HandoffWorkflow, RitualWorkflow, FlywheelWorkflow, DetectionSweepWorkflow]
ACTIVITIES = [record_notifications, deliver_webhook, resolve_escalation_target, save_signal, page_and_save_signal]
ACTIVITIES += [record_handoff_transition, apply_handoff_team_change, open_governance_violation]
ACTIVITIES += [save_tasks, save_play_run, report_play_outcome, log_step_to_crm]
ACTIVITIES += [prepare_ritual, build_agenda, post_agenda, save_ritual, propose_flywheel_changes]


def async_sessions() -> AsyncSession:
    return AsyncSession(get_async_engine(), expire_on_commit=False)


def build_worker(client: Client, task_queue: str | None = None, **options) -> Worker:
    detection = DetectionActivities(async_sessions, client)
    return Worker(
        client,
        task_queue=task_queue or get_settings().temporal_task_queue,
        workflows=WORKFLOWS,
        activities=ACTIVITIES + [detection.sweep],
        activity_executor=ThreadPoolExecutor(max_workers=20),
        **options,
    )


def compile_workflows() -> None:
    """Bytecode for the workflow modules, which the sandbox imports afresh for every workflow run it starts: with
    PYTHONDONTWRITEBYTECODE (as in most container images) each run would otherwise compile them from source."""
    folder = Path(workflows.__file__).parent
    if not compileall.compile_dir(folder, quiet=2):
        logging.warning("could not write bytecode for %s: each workflow run compiles it from source", folder)


async def register_schedules(client: Client) -> None:
    """The rituals', the flywheel's and the detection sweep's Temporal Schedules, in line with the rituals config
    and the settings (idempotent)."""
    from services.detection_sweep import ensure_detection_schedules
    from services.rituals import ensure_schedules

    try:
        with session_scope() as session:
            changes = await ensure_schedules(session, client)
        logging.info("schedules: %s", ", ".join(f"{c.schedule_id} {c.action}" for c in changes) or "none configured")
    except Exception:  # noqa: BLE001  (a worker without schedules still runs every other workflow)
        logging.exception("could not register the ritual schedules; they are synced again on the next start or config PUT")
    try:
        logging.info("schedules: %s", ", ".join(await ensure_detection_schedules(client, get_settings())))
    except Exception:  # noqa: BLE001
        logging.exception("could not register the detection sweep's schedules; they are synced again on the next start")


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    migrate()
    compile_workflows()
    settings = get_settings()
    tracer_provider = start_tracing(settings, "pillar-worker")
    client = await get_temporal_client(runtime=worker_runtime(settings))
    if settings.worker_metrics_address:
        logging.info("worker metrics for Prometheus on http://%s/metrics", settings.worker_metrics_address)
    await register_schedules(client)
    worker = build_worker(client)
    # `docker stop` and process managers send SIGTERM: finish the running activities, then exit.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(worker.shutdown()))
    logging.info("worker polling task queue %r on %s", get_settings().temporal_task_queue, get_settings().temporal_address)
    await worker.run()
    if tracer_provider is not None:
        tracer_provider.shutdown()  # export the spans still batched: the process leaves with os._exit


if __name__ == "__main__":
    asyncio.run(main())
    # The worker has shut down and drained. Skip interpreter finalization: a Temporal core thread that
    # reaches for the GIL while CPython 3.11 finalizes aborts the process ("PyGILState_Release").
    logging.shutdown()
    os._exit(0)
