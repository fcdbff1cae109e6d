"""Rituals: when a ritual's agenda is built."""

from workflows.ritual import RitualWorkflow


async def agenda_built(handle):
    state = await handle.query(RitualWorkflow.state)
    return state if state.agenda_id else None
