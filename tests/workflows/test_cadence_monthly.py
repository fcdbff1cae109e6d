"""A monthly cadence on the time-skipping server (issue 16): the territory review, switched on, builds its scored
agenda in the first week of the month only, tracks its action items, and stays open until next month's meeting.
Started the way its schedule starts it, at the times `build_times` gives (the test server has no Schedules)."""

from pydantic import TypeAdapter
from sqlmodel import Session

from core import config_store
from core.db import get_engine
from core.settings import get_settings
from models.events import AccountEvent
from models.rituals import WEEK, ActionItemIn, AgendaStatus, RitualKind, RitualRun, RitualsConfigIn
from services import action_items, agendas
from services.events import ingest
from services.rituals import RITUALS, build_times, current_rituals, meeting_for, next_meeting_after, schedule_id
from tests.support.db import actor
from tests.support.events import bad_week, baseline
from tests.support.rituals import agenda_built
from tests.support.waiting import eventually
from workflows.ritual import RitualWorkflow


def switch_on(key: str):
    """A new rituals config version with `key` enabled (the defaults ship the cadences off)."""
    with Session(get_engine()) as session:
        config = current_rituals(session)
        rituals = [r.model_copy(update={"enabled": True}) if r.key == key else r for r in config.rituals]
        body = RitualsConfigIn.model_validate(config.model_copy(update={"rituals": rituals}).model_dump())
        config_store.append(session, RITUALS, body.model_dump(mode="json"), created_by="rory")
        return current_rituals(session).ritual(key)


async def start_run(env, ritual, motion, at):
    return await env.client.start_workflow(
        RitualWorkflow.run, RitualRun(ritual_key=ritual.key, motion=motion, scheduled_at=at),
        id=f"{schedule_id(ritual.key, motion)}-{at:%Y-%m-%dT%H:%M:%SZ}", task_queue=get_settings().temporal_task_queue)


async def test_the_monthly_territory_review_builds_its_agenda_in_the_first_week_and_tracks_its_action_items(ts_env, ts_worker):
    with Session(get_engine()) as session:
        events = TypeAdapter(list[AccountEvent]).validate_python(baseline("acme") + bad_week("acme"))
        await ingest(session, None, events, "test")
    ritual = switch_on("territory_review")
    now = await ts_env.get_current_time()
    fires = build_times(ritual, now, now + 6 * WEEK)
    assert len(fires) in (1, 2) and all(meeting_for(ritual, at).day <= 7 for at in fires)  # once a month, in its first week

    at = fires[0]
    await ts_env.sleep(at - await ts_env.get_current_time())
    handle = await start_run(ts_env, ritual, "academic", at)
    state = await eventually(lambda: agenda_built(handle))
    with Session(get_engine()) as session:
        agenda = agendas.get_agenda(session, state.agenda_id)
    assert agenda.kind == RitualKind.territory_review and agenda.meeting_at == meeting_for(ritual, at)
    assert state.closes_at == next_meeting_after(ritual, agenda.meeting_at) and state.closes_at - agenda.meeting_at >= 4 * WEEK
    owners = next(s for s in agenda.sections if s.key == "owners").items
    assert owners[0].ref_id == "casey" and owners[0].facts["arr_at_risk"] == 180_000 and owners[0].facts["save_costs"] == 14_000
    assert [s.key for s in agenda.sections] == ["owners", "coverage", "rebalance", "carried_over"]

    with Session(get_engine()) as session:
        item = await action_items.add_action_item(session, ts_env.client, agenda.id, ActionItemIn(
            title="Move Initech to Dana before the Acme save", owner_id="lee"), actor("maya", "manager"))
    assert item.due_at == agenda.meeting_at + ritual.action_item_due
    assert [i.id for i in (await handle.query(RitualWorkflow.state)).action_items] == [item.id]

    # its schedule fires every week: a week later, the month's meeting is behind it and the run builds nothing
    later = at + WEEK
    await ts_env.sleep(later - await ts_env.get_current_time())
    skipped = await start_run(ts_env, ritual, "academic", later)
    assert (await skipped.result()).agenda_id is None
    state = await handle.query(RitualWorkflow.state)
    assert state.status == AgendaStatus.open and [i.id for i in state.action_items] == [item.id]  # still tracked
    await handle.terminate("test over")
