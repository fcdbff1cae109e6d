"""Rituals: when a ritual's agenda is built."""

from temporalio.client import WorkflowExecutionStatus

from tests.support.waiting import eventually
from workflows.ritual import RitualWorkflow


async def agenda_built(handle):
    state = await handle.query(RitualWorkflow.state)
    return state if state.agenda_id else None


async def triggered_agenda(api, ritual_key: str, motion: str = "academic") -> dict:
    """Trigger the ritual through the API (as Maya) and wait for the agenda of the meeting that run is for. Another
    test's trigger in the same minute may have built that meeting's agenda first: the run then ends at once, and the
    agenda is that one."""
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
