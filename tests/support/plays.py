"""Plays: each step's fields, completing a step, a Renewal Save started from a critical signal, a worker with
chosen (or buggy) step actions, and a probe library of small plays for the stuck view."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import Session
from temporalio import activity
from temporalio.worker import Worker

from activities.play_actions import StepActionActivities
from core.db import get_engine
from core.settings import get_settings
from core.temporal import run_update
from models.plays import PlayDef, StepActionRequest, StepActionResult, StepCompleteInput
from models.signals import AcknowledgeInput, SignalIn
from models.tasks import TaskIn
from plays import load_library
from services.plays import build_play_start, find_play, launch, play_handle
from services.signals import open_signal, signal_handle
from services.tasks import add_task
from tests.support.db import actor
from workflows.play import PlayWorkflow
from workflows.signal import SignalWorkflow

FIELDS = {
    "diagnose": {"root_cause": "champion left; usage -35%", "health_evidence": "health 72 → 28"},
    "exec_sponsor": {"sponsor_name": "Provost Ortega", "meeting_date": "2027-01-12"},
    "save_plan": {"plan_summary": "re-onboard two faculties", "success_criteria": "WAU back to 300"},
    "commercial_offer": {"offer_terms": "two-year renewal, 8% off", "save_cost": 14000},
    "renewal_decision": {"decision": "renew", "decision_date": "2027-01-27"},
}


async def complete(handle, step_key: str, who, fields=None):
    return await run_update(handle, PlayWorkflow.complete_step, StepCompleteInput(step_key=step_key, actor=who, fields=fields or FIELDS[step_key]))


async def renewal_save_from_a_critical_signal(client):
    """A critical renewal_risk on Acme, acknowledged by Lee, who picks the template that starts the Renewal Save."""
    with Session(get_engine()) as session:
        created, _ = await open_signal(session, client, SignalIn(family="renewal_risk", severity="critical", account_id="acme"), "test")
    signal = signal_handle(client, created.id)
    lee = actor("lee", "csm_lead")
    await run_update(signal, SignalWorkflow.acknowledge, AcknowledgeInput(actor=lee))
    with Session(get_engine()) as session:
        task = await add_task(session, client, created.id, TaskIn(template_key="renewal_save_play"), lee)
    return signal, task, play_handle(client, task.play_run_id)


async def play_idle(handle) -> bool:
    description = (await handle.describe()).raw_description
    return not description.pending_activities and not description.HasField("pending_workflow_task")


class BuggyStepActions(StepActionActivities):
    @activity.defn
    async def log_step_to_crm(self, request: StepActionRequest) -> StepActionResult:
        """The bug: the CRM entry is built from a field the step does not have."""
        raise KeyError(f"'sponsor_title' (building the CRM entry for {request.step_key})")


def worker_on(client, queue: str, step_actions: type[StepActionActivities]) -> Worker:
    """A worker whose play step actions are `step_actions` (the real ones, or a buggy release)."""
    from worker import Activities
    from workflows import WORKFLOWS

    activities = Activities.build(client)
    activities.step_actions = step_actions(activities.step_actions.http, get_settings)
    return Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=activities.all(),
                  activity_executor=ThreadPoolExecutor(max_workers=4))


PROBE = """key = "{key}"
name = "Stuck probe ({key})"
version = 1
exit_outcomes = ["renewed", "churned"]

[entry]
families = ["renewal_risk"]

[[steps]]
key = "first"
title = "First step"
owner_role = "csm"
due = "{due}"
required_fields = ["note"]

[[steps]]
key = "second"
title = "Second step"
owner_role = "ae"
depends_on = ["first"]
due = "P3D"
required_fields = ["note"]
"""


def probe_library(directory: Path) -> dict[str, PlayDef]:
    """Two small plays: one whose first step is overdue after a second, one due in a week."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, due in (("stuck_probe_fast", "PT1S"), ("stuck_probe_slow", "P7D")):
        (directory / f"{key}.toml").write_text(PROBE.format(key=key, due=due))
    return load_library(directory)


async def start_runs(client, library: dict[str, PlayDef], play_key: str, account_id: str, count: int, concurrency: int = 50) -> list[str]:
    play = find_play(play_key, library)
    with Session(get_engine()) as session:
        starts = [build_play_start(session, play, account_id, None, "bench") for _ in range(count)]
    ids = []
    for i in range(0, count, concurrency):
        created = await asyncio.gather(*(launch(client, s) for s in starts[i:i + concurrency]))
        ids += [c.id for c in created]
    return ids
