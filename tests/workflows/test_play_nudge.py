"""A manager nudges the owner of a stuck play step: the owner is paged and the timeline records it, at most once per
step per hour; anyone else, or a step that waits on nobody, is refused without a trace in the history."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.plays import StepNudgeInput
from models.tables import NotificationRow
from tests.support.db import actor, inbox
from tests.support.histories import WORKFLOW_TASK_EVENTS, record_history
from tests.support.plays import renewal_save_from_a_critical_signal
from workflows.play import PlayWorkflow


def nudge(step_key: str, who, name: str, note: str | None = None) -> StepNudgeInput:
    return StepNudgeInput(step_key=step_key, actor=who, actor_name=name, note=note)


async def test_a_manager_nudges_a_steps_owner_once_an_hour(ts_env, ts_worker):
    _, task, play = await renewal_save_from_a_critical_signal(ts_env.client)
    lee, alex, casey = actor("lee", "csm_lead"), actor("alex", "ae"), actor("casey", "csm")
    await ts_env.sleep(timedelta(hours=2))
    before = len((await play.fetch_history()).events)

    async def refused(request: StepNudgeInput) -> PillarError:
        with pytest.raises(PillarError) as error:
            await run_update(play, PlayWorkflow.nudge_step, request)
        return error.value

    assert (await refused(nudge("diagnose", alex, "Alex"))).code == "forbidden"  # not Casey's manager
    assert (await refused(nudge("diagnose", casey, "Casey"))).code == "forbidden"  # nor the owner herself
    blocked = await refused(nudge("save_plan", lee, "Lee"))
    assert blocked.code == "conflict" and "blocked" in blocked.message
    assert all(e.event_type in WORKFLOW_TASK_EVENTS for e in (await play.fetch_history()).events[before:])

    await run_update(play, PlayWorkflow.nudge_step, nudge("diagnose", lee, "Lee", "the QBR is Thursday"))
    with Session(get_engine()) as session:
        page = session.exec(select(NotificationRow).where(NotificationRow.user_id == "casey",
                                                          NotificationRow.kind == "nudge")).one()
    assert page.subject_id == task.play_run_id
    assert page.text.startswith("Lee nudged you about Diagnose") and "the QBR is Thursday" in page.text
    run = await play.query(PlayWorkflow.state)
    entry = run.timeline[-1]
    assert (entry.type, entry.actor) == ("step_nudged", "lee") and "casey" in entry.detail

    again = await refused(nudge("diagnose", lee, "Lee"))
    nudged_at = entry.at
    assert again.code == "conflict" and again.details == {"next_allowed_at": (nudged_at + timedelta(hours=1)).isoformat()}
    await ts_env.sleep(timedelta(minutes=61))
    await run_update(play, PlayWorkflow.nudge_step, nudge("diagnose", lee, "Lee"))
    assert inbox("casey", task.play_run_id).count("nudge") == 2
    await record_history(play, "play_step_nudged_by_a_manager")
