"""A simulated week of rituals on the time-skipping server.

The time-skipping test server does not implement Schedules (CreateSchedule answers "unimplemented"), so the week
is driven the way the schedules drive it: each RitualWorkflow is started at the build times computed by
`services.rituals.build_times` — the pure function whose numbers `calendar_for` puts in each schedule's calendar
(tests/api/test_cadence_api.py checks, on the dev server, that the schedules fire at exactly those times)."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from api.agenda_html import agenda_html
from core.db import get_engine
from core.errors import PillarError
from core.temporal import run_update
from models.rituals import WEEK, ActionItemIn, ActionItemOutcomeInput, AgendaStatus, RitualKind
from models.tables import AgendaRow, NotificationRow
from models.tasks import OutcomeIn
from services import action_items
from services.assessment import assess
from services.rituals import build_times, current_rituals, meeting_for
from tests.support.db import actor
from tests.support.histories import record_history
from tests.support.rituals import WEEKLY_RITUALS, enable_rituals, items_of, run_ritual, the_books
from workflows.ritual import RitualWorkflow

def pages(user_id: str, subject_id: str) -> list[str]:
    with Session(get_engine()) as session:
        rows = session.exec(select(NotificationRow).where(NotificationRow.user_id == user_id, NotificationRow.subject_id == subject_id))
        return sorted(r.kind for r in rows)


async def test_a_week_of_rituals_builds_each_agenda_on_time_and_tracks_its_action_items(ts_env, ts_worker, tmp_path):
    client = ts_env.client
    start = await ts_env.get_current_time()
    opened, task, run = await the_books(client)
    enable_rituals(*WEEKLY_RITUALS)
    with Session(get_engine()) as session:
        config = current_rituals(session)
    fires = sorted((at, ritual.key, motion) for ritual in config.rituals if ritual.enabled  # as the schedules: only enabled ones
                   for motion in ritual.motions for at in build_times(ritual, start, start + WEEK))
    assert len(fires) == 10 and len({key for _, key, _ in fires}) == 5  # five rituals × two motions, each once

    maya, casey, alex, sky = actor("maya", "manager"), actor("casey", "csm"), actor("alex", "ae"), actor("sky", "support")
    built, items = {}, {}
    for at, key, motion in fires:
        ritual = config.ritual(key)
        await ts_env.sleep(at - await ts_env.get_current_time())
        handle, agenda = await run_ritual(ts_env, ritual, motion, at)
        built[(key, motion)] = (handle, agenda)
        # on time: built when the schedule fires, for the meeting `lead` later
        assert abs(agenda.built_at - at) < timedelta(minutes=1)
        assert agenda.meeting_at == meeting_for(ritual, at) == at + ritual.lead
        assert agenda.status == AgendaStatus.open and agenda.workflow_id == handle.id and agenda.config_version == config.version
        with Session(get_engine()) as session:  # each kind renders as a printable page
            page = agenda_html(session, agenda.id)
        assert f"{ritual.name} — {motion}" in page and "@media print" in page
        (tmp_path / f"{agenda.id}.html").write_text(page)
        accounts = {i.account_id for s in agenda.sections for i in s.items if i.account_id}
        assert accounts <= ({"acme", "initech"} if motion == "academic" else {"globex"})  # one motion never drowns the other

        if not items:  # the week's first meeting decides two action items
            with Session(get_engine()) as session:
                items["late"] = await action_items.add_action_item(
                    session, client, agenda.id, ActionItemIn(title="Call Acme's provost", owner_id="casey",
                                                             due_at=agenda.meeting_at + timedelta(days=2), ref_id=opened["acme"]), maya)
                items["on_time"] = await action_items.add_action_item(
                    session, client, agenda.id, ActionItemIn(title="Re-confirm the close plan", owner_id="alex"), maya)
                with pytest.raises(PillarError) as refused:  # only whoever runs the ritual assigns to others
                    await action_items.add_action_item(session, client, agenda.id, ActionItemIn(title="x", owner_id="casey"), sky)
                assert refused.value.code == "forbidden"
                with pytest.raises(PillarError) as refused:
                    await action_items.add_action_item(session, client, agenda.id, ActionItemIn(
                        title="x", owner_id="casey", due_at=agenda.meeting_at - timedelta(days=1)), maya)
                assert refused.value.code == "invalid" and "due_at" in refused.value.message
            assert items["on_time"].due_at == agenda.meeting_at + ritual.action_item_due
            assert pages("casey", items["late"].id) == ["page"] and pages("alex", items["on_time"].id) == ["page"]
            assert [i.id for i in (await handle.query(RitualWorkflow.state)).action_items] == [items["late"].id, items["on_time"].id]

        elif "closed" not in items:  # by the next meeting, one of them is done, well before its due date
            with Session(get_engine()) as session:
                with pytest.raises(PillarError) as refused:
                    await action_items.set_outcome(session, client, items["on_time"].id, OutcomeIn(outcome="renewed"), sky)
                assert refused.value.code == "forbidden"
                items["closed"] = await action_items.set_outcome(session, client, items["on_time"].id, OutcomeIn(outcome="renewed"), alex)
            assert items["closed"].outcome == "renewed" and items["closed"].outcome_at < items["closed"].due_at

        if RitualKind(ritual.kind) == RitualKind.execution_one_on_ones and motion == "academic":
            casey_section = next(s for s in agenda.sections if s.owner_id == "casey")
            kinds = {(i.kind, i.ref_id.split("/")[-1]) for i in casey_section.items}
            assert ("play_step", "diagnose") in kinds and ("task", task.id) in kinds
            if "late" in items:
                assert ("action_item", items["late"].id) in kinds
            assert [i.score for i in casey_section.items] == sorted((i.score for i in casey_section.items), reverse=True)

    triage = built[("signal_triage", "academic")][1]
    ranked = items_of(triage, "signals")
    assert [i.ref_id for i in ranked] == [opened["acme"], opened["initech"]]  # critical $180K above warning $40K
    assert ranked[0].why.startswith("critical (+50), $180K ARR (+18), escalated to level") and ranked[0].facts["sla_state"] == "escalated"
    assert ranked[0].score == 50 + 18 + 20 + (ranked[0].facts["escalation_level"] - 1) * 5 + 5 * ranked[0].facts["new_since_friday"]
    assert [i.ref_id for i in items_of(built[("signal_triage", "credentialed")][1], "signals")] == [opened["globex"]]

    forecast = items_of(built[("forecast_call", "academic")][1], "commits")
    assert [i.ref_id for i in forecast] == ["opp-acme-renewal"]
    assert forecast[0].facts["commit_without_evidence"] and forecast[0].score < 50 and forecast[0].evidence

    at_risk = items_of(built[("at_risk_review", "academic")][1], "at_risk")
    assert at_risk[0].account_id == "acme" and at_risk[0].facts["risk_tier"] == "critical"
    assert (at_risk[0].facts["cost_to_save"], at_risk[0].facts["cost_to_replace"], at_risk[0].facts["recommendation"]) == (14_000, 54_000, "save")
    assert at_risk[0].facts["active_plays"][0]["id"] == run.id
    assert items_of(built[("at_risk_review", "credentialed")][1], "at_risk") == []  # Globex has no score yet

    retro = built[("retro", "academic")][1]
    fired = {i.ref_id for i in items_of(retro, "fired")}
    expected = {sid for account, sid in opened.items() if account != "globex"} if retro.window_start <= start else set()
    assert fired == expected and retro.proposed_pattern

    # the other went overdue during the week: its owner was paged at its due date, her manager a day later
    late = items["late"]
    await ts_env.sleep(max(late.due_at + timedelta(days=1, hours=1) - await ts_env.get_current_time(), timedelta(0)))
    assert pages("casey", late.id) == ["overdue", "page"] and pages("lee", late.id) == ["escalation"]  # lee: casey's manager
    with Session(get_engine()) as session:
        paged = {r.kind: r.at for r in session.exec(select(NotificationRow).where(NotificationRow.subject_id == late.id))}
    assert abs(paged["overdue"] - late.due_at) < timedelta(minutes=1)
    assert abs(paged["escalation"] - (late.due_at + timedelta(days=1))) < timedelta(minutes=1)
    handle = built[next(k for k, (_, a) in built.items() if a.id == late.agenda_id)][0]
    with Session(get_engine()) as session:
        with pytest.raises(PillarError) as refused:
            await run_update(handle, RitualWorkflow.set_action_item_outcome, ActionItemOutcomeInput(
                item_id=late.id, outcome="blocked_waiting_on", actor=casey))
        assert refused.value.code == "invalid"
        closed = await action_items.set_outcome(session, client, late.id, OutcomeIn(outcome="renewed", note="provost agreed"), casey)
    assert closed.outcome_at > closed.due_at

    # the completion rate: one of the two closed by its due date
    as_of = await ts_env.get_current_time()
    with Session(get_engine()) as session:
        metrics = action_items.completion_metrics(session, as_of, weeks=2)
    ritual_key = next(a.ritual_key for _, a in built.values() if a.id == late.agenda_id)
    weeks = [w for r in metrics.rituals if r.ritual_key == ritual_key for w in r.weeks if w.created]
    assert [(w.created, w.completed_on_time, w.completed_late, w.open_overdue, w.completion_rate_pct) for w in weeks] == [(2, 1, 1, 0, 50.0)]

    # the agenda closes at the next meeting; with every item final, its run ends
    result = await handle.result()
    assert result.status == AgendaStatus.closed and all(i.outcome for i in result.action_items)
    with Session(get_engine()) as session:
        row = session.get(AgendaRow, late.agenda_id)
        assert row.status == "closed"
        with pytest.raises(PillarError) as refused:
            await action_items.add_action_item(session, client, late.agenda_id, ActionItemIn(title="late", owner_id="casey"), maya)
        assert refused.value.code == "conflict"
    await record_history(handle, "ritual_week_item_overdue_escalated_then_closed")
    await record_history(handle, "ritual_week_item_overdue_escalated_then_closed_on_the_ladder")

    # the self-assessment, on what the week left behind (and the seeded 23% baseline)
    with Session(get_engine()) as session:
        answers = {q.id: q for g in assess(session, await ts_env.get_current_time()).groups for q in g.questions}
    assert answers["q03"].answer == "yes" and answers["q03"].numerator == answers["q03"].denominator >= 2  # Acme's and Globex's SLAs
    assert answers["q07"].answer == "yes" and "1 run(s) of them started" in answers["q07"].figure  # the Renewal Save
    assert answers["q13"].answer == "yes" and "on time (24 of 102)" in answers["q13"].figure  # a number each ritual can report
