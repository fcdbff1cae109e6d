"""The hand-over between two consecutive runs of one ritual, on the time-skipping server: last week's run completes
and its open action items go on tracking in this week's run, counted once.

The time-skipping server has no Schedules, so the runs are started as the schedule starts them: with its overlap
policy CANCEL_OTHER the schedule cancels last week's run and starts this week's once that one has closed
(tests/api/test_cadence_api.py checks the policy on the dev server's schedules)."""

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError

from api.agenda_html import agenda_html
from core.db import get_engine
from core.errors import PillarError
from core.settings import get_settings
from core.temporal import run_update
from models.rituals import (
    MAX_ACTION_ITEMS,
    WEEK,
    ActionItemIn,
    ActionItemOutcomeInput,
    AddActionItemInput,
    AgendaStatus,
    RitualResume,
    RitualRun,
)
from models.tables import NotificationRow
from models.tasks import OutcomeIn
from services import action_items, agendas
from services.rituals import build_times, current_rituals, schedule_id, start_for
from tests.support.db import actor
from tests.support.histories import record_history
from tests.support.rituals import agenda_built, enable_rituals
from tests.support.waiting import eventually
from workflows.ritual import RitualWorkflow

RITUAL, MOTION = "at_risk_review", "academic"


async def start_run(env, at):
    """The ritual's run as its schedule starts it at `at`; answers its handle once its agenda is stored."""
    handle = await env.client.start_workflow(
        RitualWorkflow.run, RitualRun(ritual_key=RITUAL, motion=MOTION, scheduled_at=at),
        id=f"{schedule_id(RITUAL, MOTION)}-{at:%Y-%m-%dT%H:%M:%SZ}", task_queue=get_settings().temporal_task_queue,
    )
    state = await eventually(lambda: agenda_built(handle))
    return handle, state.agenda_id


async def two_build_times(env):
    enable_rituals(RITUAL)
    with Session(get_engine()) as session:
        ritual = current_rituals(session).ritual(RITUAL)
    now = await env.get_current_time()
    first, second = build_times(ritual, now, now + 2 * WEEK)[:2]
    return ritual, first, second


async def sleep_until(env, moment):
    await env.sleep(max(moment - await env.get_current_time(), timedelta(0)))


def page_kinds(subject_id: str) -> list[tuple[str, str]]:
    with Session(get_engine()) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.subject_id == subject_id))
        return sorted((r.user_id, r.kind) for r in rows)


async def closed(handle):
    """The run's state once it has completed. Polled and queried: `result()`, on the time-skipping server, lets
    it skip time, even when the run has already closed (years ahead, with no timer pending)."""
    await eventually(lambda: completed(handle))
    return await handle.query(RitualWorkflow.state)


async def completed(handle) -> bool:
    status = (await handle.describe()).status
    assert status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED), status
    return status == WorkflowExecutionStatus.COMPLETED


async def held(handle, item_id):
    state = await handle.query(RitualWorkflow.state)
    return next((i for i in state.action_items if i.id == item_id), None)


async def a_week_with_two_items(env, client, first):
    """Last week's meeting decides two items: one closed on time, one that goes overdue and escalates."""
    maya, alex = actor("maya", "manager"), actor("alex", "ae")
    last_week, agenda_id = await start_run(env, first)
    with Session(get_engine()) as session:
        agenda = agendas.get_agenda(session, agenda_id)
        late = await action_items.add_action_item(session, client, agenda_id, ActionItemIn(
            title="Call Acme's provost", owner_id="casey", due_at=agenda.meeting_at + timedelta(days=2)), maya)
        done = await action_items.add_action_item(session, client, agenda_id, ActionItemIn(
            title="Re-confirm the close plan", owner_id="alex"), maya)
        await action_items.set_outcome(session, client, done.id, OutcomeIn(outcome="renewed"), alex)
    await sleep_until(env, late.due_at + timedelta(days=1, hours=1))  # overdue: casey paged, then lee (her manager)
    assert page_kinds(late.id) == [("casey", "overdue"), ("casey", "page"), ("lee", "escalation")]
    return last_week, agenda, late, done


async def test_the_next_run_takes_over_the_open_items_and_the_last_run_completes(ts_env, ts_worker):
    client = ts_env.client
    ritual, first, second = await two_build_times(ts_env)
    last_week, agenda, late, done = await a_week_with_two_items(ts_env, client, first)

    # the schedule fires next week: it cancels last week's run, which releases the open item and completes
    await sleep_until(ts_env, second)
    await last_week.cancel()
    ended_run = await closed(last_week)
    assert ended_run.status == AgendaStatus.closed
    released = next(i for i in ended_run.action_items if i.id == late.id)
    assert released.holder is None and released.carries[0].from_agenda_id == agenda.id
    this_week, next_agenda_id = await start_run(ts_env, second)

    # the open item is on this week's agenda, carried over with its owner, due date and history
    taken = await eventually(lambda: held(this_week, late.id))
    assert (taken.owner_id, taken.due_at, taken.created_by, taken.overdue_paged, taken.escalated_to) == (
        "casey", late.due_at, "maya", True, ["lee"])
    assert taken.holder == next_agenda_id and taken.carries[0].text == f"carried over from {agenda.meeting_at:%a %d %b %Y}"
    assert await held(this_week, done.id) is None  # a closed item stays where it was closed
    with Session(get_engine()) as session:
        next_agenda = agendas.get_agenda(session, next_agenda_id)
        carried = next(s for s in next_agenda.sections if s.key == "carried_over").items
        assert [i.ref_id for i in carried] == [late.id]
        assert carried[0].why.startswith(f"carried over from {agenda.meeting_at:%a %d %b}")
        assert [i.id for i in next_agenda.action_items] == [late.id]
        held_open = {a.id: a.open_action_items for a in agendas.list_agendas(session, ritual_key=RITUAL, motion=MOTION).items}
        assert (held_open[agenda.id], held_open[next_agenda_id]) == (0, 1)
        page = agenda_html(session, next_agenda_id).replace("&#39;", "'")
        assert f"Call Acme's provost <small>(carried over from {agenda.meeting_at:%a %d %b %Y})" in page
        assert [i.id for i in agendas.get_agenda(session, agenda.id).action_items] == [late.id, done.id]

    # it is tracked there now: already escalated, so nobody is paged again; its outcome is recorded there
    await ts_env.sleep(timedelta(days=2))
    assert page_kinds(late.id) == [("casey", "overdue"), ("casey", "page"), ("lee", "escalation")]
    with Session(get_engine()) as session:
        finished = await action_items.set_outcome(session, client, late.id, OutcomeIn(outcome="renewed", note="provost agreed"),
                                                  actor("casey", "csm"))
        assert finished.outcome == "renewed" and action_items.get_action_item(session, late.id).outcome == "renewed"
        # counted once, in the week of the meeting that decided it: one of two on time
        metrics = action_items.completion_metrics(session, await ts_env.get_current_time(), weeks=3)
    weeks = [w for r in metrics.rituals if r.ritual_key == RITUAL for w in r.weeks if w.created]
    assert [(w.created, w.completed_on_time, w.completed_late, w.open_overdue, w.completion_rate_pct) for w in weeks] == [
        (2, 1, 1, 0, 50.0)]
    await record_history(last_week, "ritual_cancelled_by_next_meeting_released_open_item")
    this_week_state = await this_week.query(RitualWorkflow.state)
    assert [i.id for i in this_week_state.action_items] == [late.id]
    await sleep_until(ts_env, this_week_state.closes_at + timedelta(minutes=1))  # nothing left: it ends at its next meeting
    assert (await closed(this_week)).status == AgendaStatus.closed
    await record_history(this_week, "ritual_took_over_carried_item_then_closed")


async def test_a_run_started_beside_the_last_one_asks_it_to_hand_over(ts_env, ts_worker):
    """Started by hand (or by a schedule still on ALLOW_ALL), the next run finds last week's still running:
    it asks it to hand over (a cancel), waits for the release, and takes the item once, whoever else asks."""
    client = ts_env.client
    ritual, first, second = await two_build_times(ts_env)
    last_week, agenda, late, _ = await a_week_with_two_items(ts_env, client, first)
    await sleep_until(ts_env, second)
    this_week, next_agenda_id = await start_run(ts_env, second)
    assert (await closed(last_week)).status == AgendaStatus.closed
    taken = await eventually(lambda: held(this_week, late.id))
    assert taken.holder == next_agenda_id and len(taken.carries) == 1

    # a run for a later meeting started at once takes it from this week's the same way; never twice
    later, later_agenda_id = await start_run(ts_env, second + timedelta(hours=2))
    assert (await closed(this_week)).status == AgendaStatus.closed
    moved = await eventually(lambda: held(later, late.id))
    assert [c.to_agenda_id for c in moved.carries] == [next_agenda_id, later_agenda_id]
    with Session(get_engine()) as session:
        assert action_items.get_action_item(session, late.id).holder == later_agenda_id
        await action_items.set_outcome(session, client, late.id, OutcomeIn(outcome="lost"), actor("casey", "csm"))
    assert (await held(later, late.id)).outcome == "lost"
    await record_history(this_week, "ritual_asked_last_week_to_hand_over_then_handed_over")


async def test_a_run_gone_without_handing_over_has_its_open_items_taken_as_they_stood(ts_env, ts_worker):
    client = ts_env.client
    ritual, first, second = await two_build_times(ts_env)
    last_week, agenda, late, _ = await a_week_with_two_items(ts_env, client, first)
    await last_week.terminate("an operator ended it")
    await sleep_until(ts_env, second)
    this_week, next_agenda_id = await start_run(ts_env, second)
    taken = await eventually(lambda: held(this_week, late.id))
    assert taken.holder == next_agenda_id and taken.escalated_to == ["lee"] and taken.carries[0].from_agenda_id == agenda.id


async def test_a_meeting_decides_at_most_max_action_items_and_texts_are_bounded(ts_env, ts_worker):
    _, first, _ = await two_build_times(ts_env)
    handle, agenda_id = await start_run(ts_env, first)
    maya = actor("maya", "manager")
    add = lambda n: run_update(handle, RitualWorkflow.add_action_item,  # noqa: E731
                               AddActionItemInput(actor=maya, title=f"item {n}", owner_id="maya"))
    for batch in range(0, MAX_ACTION_ITEMS, 50):
        await asyncio.gather(*(add(n) for n in range(batch, batch + 50)))
    with pytest.raises(PillarError) as refused:
        await add(MAX_ACTION_ITEMS)
    assert refused.value.code == "conflict" and str(MAX_ACTION_ITEMS) in refused.value.message
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # past the API's models: the validator bounds it too
        await handle.execute_update(RitualWorkflow.set_action_item_outcome, ActionItemOutcomeInput(
            item_id=f"{agenda_id}-a1", outcome="blocked_waiting_on", blocked_on="x" * 501, actor=maya))
    assert refused.value.cause.type == "invalid"
    state = await handle.query(RitualWorkflow.state)
    assert len(state.action_items) == MAX_ACTION_ITEMS
    # each save sends what changed, not the whole state: the 200th item's save carries one item
    saves = [json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data)
             for e in (await handle.fetch_history()).events
             if e.activity_task_scheduled_event_attributes.activity_type.name == "save_ritual_state"]
    assert len(saves) == MAX_ACTION_ITEMS and {len(s["state"]["action_items"]) for s in saves} == {1}


async def test_a_continued_run_tracks_its_items_from_the_stage_they_had_reached(ts_env, ts_worker):
    """What a run carries into its continuation (continue-as-new: a closed agenda whose items stay open, its
    ritual disabled, until its history grows long): the same items, watched from where they were."""
    _, first, _ = await two_build_times(ts_env)
    handle, agenda_id = await start_run(ts_env, first)
    with Session(get_engine()) as session:
        meeting_at = agendas.get_agenda(session, agenda_id).meeting_at
        item = await action_items.add_action_item(session, ts_env.client, agenda_id, ActionItemIn(
            title="Call Acme's provost", owner_id="casey", due_at=meeting_at + timedelta(days=2)), actor("maya", "manager"))
        start = start_for(session, RITUAL, MOTION, first)
    await sleep_until(ts_env, item.due_at + timedelta(hours=1))  # overdue: casey paged; lee not yet
    state = await handle.query(RitualWorkflow.state)
    await handle.terminate("continued below as it continues as new: same id, its state as input")
    resume = RitualResume(start=start, state=state, revision=10, pages=2)
    continued = await ts_env.client.start_workflow(
        RitualWorkflow.run, RitualRun(ritual_key=RITUAL, motion=MOTION, resume=resume), id=handle.id,
        task_queue=get_settings().temporal_task_queue)
    await sleep_until(ts_env, item.due_at + timedelta(days=1, hours=1))
    assert page_kinds(item.id) == [("casey", "overdue"), ("casey", "page"), ("lee", "escalation")]  # once each
    with Session(get_engine()) as session:
        await action_items.set_outcome(session, ts_env.client, item.id, OutcomeIn(outcome="renewed"), actor("casey", "csm"))
    await sleep_until(ts_env, start.closes_at + timedelta(minutes=1))
    final = await closed(continued)
    assert final.status == AgendaStatus.closed and [i.outcome for i in final.action_items] == ["renewed"]
