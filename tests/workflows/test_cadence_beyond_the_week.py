"""The cadences beyond the weekly five on the time-skipping server (issue 16). The monthly territory review, switched
on, builds its scored agenda in the first week of the month only, tracks its action items, and stays open until next
month's meeting; the CRO's board prep, started by hand, puts the reference account's save play beside its NRR impact.
Runs are started the way their schedule starts them, at the times `build_times` gives (the test server has no Schedules)."""

from pydantic import TypeAdapter
from sqlmodel import Session

from core import config_store
from core.db import get_engine
from core.settings import get_settings
from models.events import AccountEvent
from models.plays import PlayRunIn
from models.rituals import WEEK, ActionItemIn, AgendaStatus, RitualKind, RitualRun, RitualsConfigIn
from services import action_items, agendas
from services.events import ingest
from services.plays import start_play_run
from services.rituals import RITUALS, build_times, current_rituals, meeting_for, next_meeting_after, schedule_id
from tests.support.db import actor
from tests.support.events import bad_week, baseline
from tests.support.rituals import agenda_built, play_saved
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


async def start_run(env, ritual, motion, at, by_hand: bool = False):
    return await env.client.start_workflow(
        RitualWorkflow.run, RitualRun(ritual_key=ritual.key, motion=motion, scheduled_at=at, by_hand=by_hand),
        id=f"{schedule_id(ritual.key, motion)}-{at:%Y-%m-%dT%H:%M:%SZ}", task_queue=get_settings().temporal_task_queue)


async def the_bad_week():
    with Session(get_engine()) as session:
        events = TypeAdapter(list[AccountEvent]).validate_python(baseline("acme") + bad_week("acme"))
        await ingest(session, None, events, "test")


async def test_the_monthly_territory_review_builds_its_agenda_in_the_first_week_and_tracks_its_action_items(ts_env, ts_worker):
    await the_bad_week()
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


async def test_the_board_prep_puts_the_reference_accounts_save_play_beside_its_nrr_impact(ts_env, ts_worker):
    await the_bad_week()
    with Session(get_engine()) as session:
        run = await start_play_run(session, ts_env.client, PlayRunIn(play_key="renewal_save", account_id="acme"), "lee")
    await play_saved(run.id)
    ritual = switch_on("board_prep")
    handle = await start_run(ts_env, ritual, "all", await ts_env.get_current_time(), by_hand=True)
    state = await eventually(lambda: agenda_built(handle))
    with Session(get_engine()) as session:
        agenda = agendas.get_agenda(session, state.agenda_id)
    acme = next(s for s in agenda.sections if s.key == "top_risks").items[0]
    assert acme.account_id == "acme" and [p["id"] for p in acme.facts["active_plays"]] == [run.id]
    assert acme.why.endswith("save play: renewal_save") and acme.facts["nrr_impact_points"] == round(100 * 180_000 / 315_000, 2)
    await handle.terminate("test over")
