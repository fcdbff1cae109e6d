"""The Temporal worker: every Pillar workflow and activity on one task queue."""

import asyncio
import compileall
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

import workflows
from activities import Sessions
from activities.detection import DetectionActivities
from activities.directory import DirectoryActivities
from activities.flywheel import FlywheelActivities
from activities.handoffs import HandoffActivities
from activities.legacy import LegacyActivities
from activities.notifications import NotificationActivities
from activities.play_actions import StepActionActivities
from activities.plays import PlayActivities
from activities.rituals import RitualActivities
from activities.signals import SignalActivities
from core.db import get_async_engine, migrate, session_scope
from core.outbound import fenced_client
from core.sandbox import workflow_runner
from core.settings import Settings, get_settings
from core.temporal import connect_temporal, get_temporal_client, worker_runtime
from core.tracing import start_tracing


def async_session() -> AsyncSession:
    return AsyncSession(get_async_engine(), expire_on_commit=False)


@dataclass
class Activities:
    """Every activity, as methods of objects built once with their dependencies (a test replaces one with a fake:
    `dataclasses.replace(activities, directory=...)`)."""

    directory: DirectoryActivities
    notifications: NotificationActivities
    signals: SignalActivities
    plays: PlayActivities
    step_actions: StepActionActivities
    handoffs: HandoffActivities
    rituals: RitualActivities
    flywheel: FlywheelActivities
    detection: DetectionActivities

    @classmethod
    def build(cls, client: Client, http: httpx.AsyncClient | None = None, sessions: Sessions = session_scope,
              async_sessions: Callable[[], AsyncSession] = async_session,
              settings: Callable[[], Settings] = get_settings) -> "Activities":
        http = http or fenced_client(settings())
        return cls(
            directory=DirectoryActivities(sessions),
            notifications=NotificationActivities(sessions, http, settings),
            signals=SignalActivities(sessions),
            plays=PlayActivities(sessions, client),
            step_actions=StepActionActivities(http, settings),
            handoffs=HandoffActivities(sessions, async_sessions, client),
            rituals=RitualActivities(sessions, async_sessions, http, settings, client),
            flywheel=FlywheelActivities(sessions),
            detection=DetectionActivities(async_sessions, client),
        )

    def all(self) -> list[Callable]:
        legacy = LegacyActivities(self.signals, self.plays, self.rituals)
        return [
            self.directory.resolve_escalation_target,
            self.notifications.record_notifications, self.notifications.deliver_webhook, self.notifications.deliver_page,
            self.signals.save_signal_state, self.signals.page_and_save_signal, self.signals.save_signal_tasks,
            self.signals.save_signal_change, self.signals.page_and_save_signal_change,
            self.plays.save_play_run_state, self.plays.save_play_run_change, self.plays.report_play_outcome, self.plays.start_play,
            self.step_actions.log_step_to_crm,
            self.handoffs.record_handoff_transition, self.handoffs.record_handoff_change, self.handoffs.apply_handoff_team_change,
            self.handoffs.open_governance_violation,
            self.rituals.prepare_ritual_run, self.rituals.build_agenda, self.rituals.post_agenda,
            self.rituals.save_ritual_state, self.rituals.take_over_action_items,
            self.flywheel.propose_flywheel_changes, self.flywheel.propose_pattern, self.detection.sweep,
            legacy.save_signal, legacy.save_tasks, legacy.save_play_run, legacy.save_ritual, legacy.prepare_ritual,
        ]


def build_worker(client: Client, task_queue: str | None = None, activities: Activities | None = None,
                 **options) -> Worker:
    settings = get_settings()
    defaults = {
        "graceful_shutdown_timeout": timedelta(seconds=settings.worker_shutdown_grace_seconds),
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=settings.worker_sticky_schedule_to_start_seconds),
        "max_concurrent_workflow_tasks": settings.worker_max_concurrent_workflow_tasks,
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(settings.worker_workflow_task_polls),
        "nonsticky_to_sticky_poll_ratio": settings.worker_nonsticky_poll_ratio,
        "workflow_runner": workflow_runner(client.data_converter),
    }
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=workflows.WORKFLOWS,
        activities=(activities or Activities.build(client)).all(),
        activity_executor=ThreadPoolExecutor(max_workers=20),
        **{**defaults, **options},
    )


class ReconnectingWorker:
    """The worker, handed over to a fresh one on a new connection whenever the Temporal server answers again after
    being unreachable for `outage`: the SDK's pollers retry on a backoff that doubles up to 10 s (fixed in sdk-core),
    so a worker whose pollers backed off during the outage started work up to that long after the server was back
    (3.5 s after a 3 s outage: scripts/bench_fault_recovery.py), where a new worker polls at once. The old one stops polling, finishes
    its running activities (graceful shutdown) and goes; the new one rebuilds its cache from the histories."""

    def __init__(self, client: Client, connect: Callable[[], Awaitable[Client]], build: Callable[[Client], Worker],
                 outage: timedelta = timedelta(seconds=1), interval: timedelta = timedelta(milliseconds=250)) -> None:
        self.client, self.worker = client, build(client)
        self._connect, self._build = connect, build
        self._outage, self._interval = outage.total_seconds(), interval.total_seconds()
        self.handovers = 0
        self._stopping = False
        self._retiring: set[asyncio.Task] = set()

    async def run(self) -> None:
        """Until `shutdown()`; a worker's own failure is raised."""
        running = asyncio.create_task(self.worker.run())
        while True:
            back = asyncio.create_task(self._back_after_outage())
            await asyncio.wait({running, back}, return_when=asyncio.FIRST_COMPLETED)
            if running.done() or self._stopping:
                back.cancel()
                break
            running = await self._hand_over(running)
            if self._stopping:  # asked to stop while the new worker was being built
                await self.worker.shutdown()
        await asyncio.gather(running, *self._retiring, return_exceptions=True)
        running.result()

    async def shutdown(self) -> None:
        self._stopping = True
        await self.worker.shutdown()

    async def _hand_over(self, running: asyncio.Task) -> asyncio.Task:
        old, self.client = self.worker, await self._connect()
        self.worker = self._build(self.client)
        self.handovers += 1
        logging.info("the Temporal server is back: polling through a new connection")
        retiring = asyncio.create_task(self._retire(old, running))
        self._retiring.add(retiring)
        retiring.add_done_callback(self._retiring.discard)
        return asyncio.create_task(self.worker.run())

    @staticmethod
    async def _retire(worker: Worker, running: asyncio.Task) -> None:
        await worker.shutdown()
        await asyncio.gather(running, return_exceptions=True)

    async def _back_after_outage(self) -> None:
        """Returns once the server answers after refusing connections for at least `outage` (a slow answer is not an
        outage: only UNAVAILABLE counts)."""
        down_since = None
        while True:
            try:
                await self.client.service_client.check_health(timeout=timedelta(seconds=2))
                if down_since is not None and time.monotonic() - down_since >= self._outage:
                    return
                down_since = None
            except RPCError as error:
                if error.status == RPCStatusCode.UNAVAILABLE and down_since is None:
                    down_since = time.monotonic()
            await asyncio.sleep(self._interval)


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
    settings = get_settings()
    if not settings.pillar_signing_key:
        raise SystemExit("PILLAR_SIGNING_KEY is not set: updates and webhook deliveries are signed with it (32+ characters; "
                         "`make run` keeps one under .pillar/)")
    migrate()
    compile_workflows()
    tracer_provider = start_tracing(settings, "pillar-worker")
    runtime = worker_runtime(settings)
    client = await get_temporal_client(runtime=runtime)
    if settings.worker_metrics_address:
        logging.info("worker metrics for Prometheus on http://%s/metrics", settings.worker_metrics_address)
    await register_schedules(client)
    http = fenced_client(settings)  # one connection pool for every webhook and the CRM, fenced
    activities = Activities.build(client, http)
    worker = ReconnectingWorker(client, lambda: connect_temporal(runtime), lambda c: build_worker(c, activities=activities))
    # `docker stop` and process managers send SIGTERM: finish the running activities, then exit.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(worker.shutdown()))
    # What startup built (modules, pydantic schemas, the sandbox's validation) lives as long as the process: full
    # collections need not walk it, which halves an agenda build at 2,000 accounts (scripts/bench_agendas.py).
    gc.freeze()
    logging.info("worker polling task queue %r on %s", get_settings().temporal_task_queue, get_settings().temporal_address)
    await worker.run()
    await http.aclose()
    if tracer_provider is not None:
        tracer_provider.shutdown()  # export the spans still batched: the process leaves with os._exit


if __name__ == "__main__":
    asyncio.run(main())
    # The worker has shut down and drained. Skip interpreter finalization: a Temporal core thread that
    # reaches for the GIL while CPython 3.11 finalizes aborts the process ("PyGILState_Release").
    logging.shutdown()
    os._exit(0)
