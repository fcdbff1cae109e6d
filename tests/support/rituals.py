"""Rituals: switching them on, when a ritual's agenda is built, and the books a week of agendas is built from."""

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter
from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus

from core import config_store
from core.db import get_engine
from core.settings import get_settings
from core.temporal import run_update
from models.events import AccountEvent
from models.plays import PlayRunIn
from models.rituals import RitualRun, RitualsConfigIn
from models.signals import AcknowledgeInput, SignalIn
from models.tables import PlayRunRow
from models.tasks import TaskIn
from services import agendas
from services.events import ingest
from services.plays import start_play_run
from services.rituals import RITUALS, current_rituals, schedule_id
from services.signals import open_signal, signal_handle
from services.tasks import add_task
from tests.support.db import actor
from tests.support.events import BASELINE_END, bad_week, baseline
from tests.support.waiting import eventually
from workflows.ritual import RitualWorkflow
from workflows.signal import SignalWorkflow

WEEKLY_RITUALS = ("signal_triage", "execution_one_on_ones", "forecast_call", "at_risk_review", "retro")


async def agenda_built(handle):
    state = await handle.query(RitualWorkflow.state)
    return state if state.agenda_id else None


async def triggered_agenda(api, ritual_key: str, motion: str = "academic", own: bool = False) -> dict:
    """Trigger the ritual through the API (as Maya) and wait for the agenda of the meeting that run is for. Another
    test's trigger in the same minute may have built that meeting's agenda first: the run then ends at once, and the
    agenda is that one — unless `own`, when the trigger is made again in the next minute until its run builds it."""
    enable_rituals(ritual_key)
    while True:
        response = await api.http.post(f"/api/v1/rituals/{ritual_key}/trigger", json={"motion": motion}, headers=api.auth("maya"))
        assert response.status_code == 202, response.text
        workflow_id = response.json()[0]["workflow_id"]
        handle = api.client.get_workflow_handle(workflow_id)

        async def built():
            latest = await api.http.get(f"/api/v1/rituals/{ritual_key}/agendas/latest", params={"motion": motion},
                                        headers=api.auth("maya"))
            if latest.status_code != 200:
                return None
            if latest.json()["workflow_id"] == workflow_id or (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
                return latest.json()
            return None

        agenda = await eventually(built, timeout=30)
        if not own or agenda["workflow_id"] == workflow_id:
            return agenda
        await asyncio.sleep(61 - datetime.now(UTC).second)


def acme_events() -> list:
    """The reference account's bad week, and its renewal sitting in commit."""
    crm = {"kind": "crm_stage_change", "account_id": "acme", "occurred_at": (BASELINE_END + timedelta(days=2)).isoformat(),
           "opportunity_id": "opp-acme-renewal", "stage": "commit", "amount": 180000, "close_date": "2027-03-31",
           "external_id": "crm-1"}
    adapter = TypeAdapter(AccountEvent)
    return [adapter.validate_python(e) for e in baseline("acme") + bad_week("acme") + [crm]]


async def the_books(client):
    """Signals on both motions, a task, a running play and scores: what the agendas are built from."""
    with Session(get_engine()) as session:
        await ingest(session, None, acme_events(), "test")
        opened = {}
        for family, severity, account in (("renewal_risk", "critical", "acme"), ("adoption_decay", "warning", "initech"),
                                          ("nps_decline", "info", "globex")):
            created, _ = await open_signal(session, client, SignalIn(family=family, severity=severity, account_id=account), "test")
            opened[account] = created.id
    casey = actor("casey", "csm")
    await run_update(signal_handle(client, opened["initech"]), SignalWorkflow.acknowledge, AcknowledgeInput(actor=casey))
    with Session(get_engine()) as session:
        task = await add_task(session, client, opened["initech"], TaskIn(template_key="adoption_enablement"), casey)
        run = await start_play_run(session, client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee")
    await play_saved(run.id)
    return opened, task, run


async def play_saved(run_id: str) -> None:
    """Until the play's read-model row is written: agendas read it, and a ritual's tasks may run before the play's."""
    def saved() -> bool:
        with Session(get_engine()) as session:
            return session.get(PlayRunRow, run_id) is not None

    await eventually(saved, what="the play's read-model row")


async def run_ritual(env, ritual, motion, at):
    """Start the ritual's run the way its schedule would at `at`, and wait for its stored agenda."""
    handle = await env.client.start_workflow(
        RitualWorkflow.run, RitualRun(ritual_key=ritual.key, motion=motion, scheduled_at=at),
        id=f"{schedule_id(ritual.key, motion)}-{at:%Y-%m-%dT%H:%M:%SZ}", task_queue=get_settings().temporal_task_queue,
    )
    state = await eventually(lambda: agenda_built(handle))
    with Session(get_engine()) as session:
        return handle, agendas.get_agenda(session, state.agenda_id)


def items_of(agenda, section_key: str) -> list:
    return next(s for s in agenda.sections if s.key == section_key).items


def enable_rituals(*keys: str) -> None:
    """Switch the named rituals on in a new rituals config version, unless they are on already: the shipped config
    runs Monday triage only (the rollout). Schedules are not synced: the tests start or trigger runs themselves."""
    with Session(get_engine()) as session:
        config = current_rituals(session)
        wanted = set(keys)
        if all(r.enabled for r in config.rituals if r.key in wanted):
            return
        rituals = [r.model_copy(update={"enabled": r.enabled or r.key in wanted}) for r in config.rituals]
        body = RitualsConfigIn.model_validate({**config.model_dump(), "rituals": rituals})
        config_store.append(session, RITUALS, body.model_dump(mode="json"), created_by="tests")
