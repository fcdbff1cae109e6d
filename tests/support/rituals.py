"""Rituals: switching them on, and when a ritual's agenda is built."""

from sqlmodel import Session
from temporalio.client import WorkflowExecutionStatus

from core import config_store
from core.db import get_engine
from models.rituals import RitualsConfigIn
from services.rituals import RITUALS, current_rituals
from tests.support.waiting import eventually

WEEKLY_RITUALS = ("signal_triage", "execution_one_on_ones", "forecast_call", "at_risk_review", "retro")
from workflows.ritual import RitualWorkflow


async def agenda_built(handle):
    state = await handle.query(RitualWorkflow.state)
    return state if state.agenda_id else None


async def triggered_agenda(api, ritual_key: str, motion: str = "academic") -> dict:
    """Trigger the ritual through the API (as Maya) and wait for the agenda of the meeting that run is for. Another
    test's trigger in the same minute may have built that meeting's agenda first: the run then ends at once, and the
    agenda is that one."""
    enable_rituals(ritual_key)
    response = await api.http.post(f"/api/v1/rituals/{ritual_key}/trigger", json={"motion": motion}, headers=api.auth("maya"))
    assert response.status_code == 202, response.text
    workflow_id = response.json()[0]["workflow_id"]
    handle = api.client.get_workflow_handle(workflow_id)

    async def built():
        latest = await api.http.get(f"/api/v1/rituals/{ritual_key}/agendas/latest", params={"motion": motion}, headers=api.auth("maya"))
        if latest.status_code != 200:
            return None
        if latest.json()["workflow_id"] == workflow_id or (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED:
            return latest.json()
        return None

    return await eventually(built, timeout=30)


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
