"""The cadence tables on SQLite and PostgreSQL: agendas stored once, the action-items read model, the baseline
history and the completion rate computed from it."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment

from activities.rituals import RitualActivities
from core import config_store
from core.db import session_scope
from core.paging import PageRequest
from core.seed import load_default_config, load_demo_directory
from models.common import Revision
from models.rituals import ActionItem, AgendaStatus, BuildAgendaRequest, Recurrence, RitualRun, RitualsConfigIn, RitualState
from models.tables import ActionItemRow, AgendaRow
from services import action_items, agendas
from services.cadence_baseline import load_baseline_history
from services.rituals import RITUALS as RITUALS_KIND, current_rituals

NOW = datetime(2026, 11, 30, 13, tzinfo=UTC)  # a Monday, 08:00 in New York: the triage agenda's build
RITUALS = RitualActivities(session_scope, async_sessions=None, http=None, settings=None)  # the database only


def seeded(engine) -> None:
    with Session(engine) as session:
        load_default_config(session)
        load_demo_directory(session, "cadence-admin-token-0123")


def test_an_agenda_is_built_and_stored_once(any_db):
    seeded(any_db)
    env = ActivityEnvironment()
    prepared = env.run(RITUALS.prepare_ritual_run, RitualRun(ritual_key="signal_triage", motion="academic", scheduled_at=NOW))
    assert prepared.start.meeting_at == NOW + timedelta(hours=1) and prepared.start.agenda_id == "agd-signal_triage-academic-20261130T1400Z"
    assert prepared.start.closes_at == NOW + timedelta(days=7, hours=1)
    assert env.run(RITUALS.prepare_ritual_run, RitualRun(ritual_key="signal_triage", motion="corporate", scheduled_at=NOW)).start is None  # not a motion of this ritual
    assert "no longer configured" in env.run(RITUALS.prepare_ritual_run, RitualRun(ritual_key="gone", motion="academic", scheduled_at=NOW)).reason

    first = env.run(RITUALS.build_agenda, BuildAgendaRequest(start=prepared.start, as_of=NOW, workflow_id="wf-1"))
    again = env.run(RITUALS.build_agenda, BuildAgendaRequest(start=prepared.start, as_of=NOW + timedelta(minutes=5), workflow_id="wf-2"))
    assert first.workflow_id == again.workflow_id == "wf-1" and first.owned and not again.owned  # a second run finds the first one's agenda
    with Session(any_db) as session:
        rows = session.exec(select(AgendaRow).where(AgendaRow.source == "workflow")).all()
        assert [r.id for r in rows] == [first.id] and rows[0].built_at == NOW
        agenda = agendas.get_agenda(session, first.id)
        assert [s.key for s in agenda.sections] == ["signals", "carried_over"] and agenda.summary.startswith("Monday signal triage, 2 academic")
        assert agendas.latest_agenda(session, "signal_triage", "academic").id == first.id


def _item(n: int, due_at: datetime, **fields) -> ActionItem:
    return ActionItem(id=f"agd-x-a{n}", agenda_id="agd-x", ritual_key="retro", motion="academic", title=f"item {n}",
                      owner_id="casey", due_at=due_at, created_at=NOW, **fields)


def test_the_action_items_read_model_ignores_stale_and_repeated_revisions(any_db):
    seeded(any_db)
    with Session(any_db) as session:
        session.add(AgendaRow(id="agd-x", ritual_key="retro", kind="retro", motion="academic", meeting_at=NOW, built_at=NOW,
                              workflow_id="wf", config_version=1, body={"sections": []}))
        session.commit()
    env = ActivityEnvironment()
    open_one = RitualState(agenda_id="agd-x", ritual_key="retro", motion="academic", meeting_at=NOW,
                           action_items=[_item(1, NOW + timedelta(days=2))])
    closed = open_one.model_copy(update={"status": AgendaStatus.closed, "action_items": [
        _item(1, NOW + timedelta(days=2), outcome="renewed", outcome_at=NOW + timedelta(days=1))]})
    env.run(RITUALS.save_ritual_state, Revision(revision=1, state=open_one))
    env.run(RITUALS.save_ritual_state, Revision(revision=3, state=closed))
    env.run(RITUALS.save_ritual_state, Revision(revision=2, state=open_one))  # arrives late: ignored
    env.run(RITUALS.save_ritual_state, Revision(revision=3, state=closed))  # retried: nothing new
    with Session(any_db) as session:
        row = session.get(ActionItemRow, "agd-x-a1")
        assert (row.is_open, row.outcome, row.revision, row.meeting_at) == (False, "renewed", 3, NOW)
        assert session.get(AgendaRow, "agd-x").status == "closed"
        assert [i.id for i in action_items.list_action_items(session, owner_id="casey", open_only=False, agenda_id="agd-x")] == ["agd-x-a1"]
        assert action_items.list_action_items(session, owner_id="casey", open_only=True).items == []


def test_the_baseline_history_gives_the_23_percent_and_loads_once(any_db):
    seeded(any_db)
    with Session(any_db) as session:
        assert load_baseline_history(session) == 0  # the demo directory loaded it already
        items = [ActionItem.model_validate(r.state) for r in session.exec(select(ActionItemRow))]
        assert len(items) == 100 and sum(i.on_time for i in items) == 23 and all(i.is_final for i in items)
        assert all(i.outcome_at < datetime.now(UTC) for i in items)
        metrics = action_items.completion_metrics(session, weeks=8)
        assert metrics.overall.completion_rate_pct == 23.0
        rates = {r.ritual_key: r.completion_rate_pct for r in metrics.rituals if r.completion_rate_pct is not None}  # the rest: no items yet
        assert rates == {"signal_triage": 30.0, "execution_one_on_ones": 35.0, "forecast_call": 25.0, "at_risk_review": 20.0, "retro": 5.0}
        assert len(metrics.overall.weeks) == 8 and sum(w.created for w in metrics.overall.weeks) == 100
        seeded_agendas = agendas.list_agendas(session, page=PageRequest(limit=500)).items
        assert len(seeded_agendas) == 40 and {a.source for a in seeded_agendas} == {"seed"}
        assert {a.status for a in seeded_agendas} == {AgendaStatus.closed}
        assert current_rituals(session).version == 1


def test_the_completion_rate_counts_only_what_is_due(any_db):
    seeded(any_db)
    with Session(any_db) as session:
        session.exec(ActionItemRow.__table__.delete())
        session.commit()
    state = RitualState(agenda_id="agd-x", ritual_key="retro", motion="academic", meeting_at=NOW, action_items=[
        _item(1, NOW + timedelta(days=1), outcome="renewed", outcome_at=NOW + timedelta(hours=3)),  # on time
        _item(2, NOW + timedelta(days=1), outcome="lost", outcome_at=NOW + timedelta(days=2)),  # late
        _item(3, NOW + timedelta(days=1), outcome="blocked_waiting_on", blocked_on="legal"),  # open, overdue
        _item(4, NOW + timedelta(days=9)),  # not yet due: not counted
    ])
    ActivityEnvironment().run(RITUALS.save_ritual_state, Revision(revision=1, state=state))
    with Session(any_db) as session:
        metrics = action_items.completion_metrics(session, NOW + timedelta(days=3), weeks=1)
    week = next(r for r in metrics.rituals if r.ritual_key == "retro").weeks[0]
    assert (week.week, week.created, week.completed_on_time, week.completed_late, week.open_overdue, week.pending) == ("2026-W49", 4, 1, 1, 1, 1)
    assert week.completion_rate_pct == 33.3 and metrics.overall.completion_rate_pct == 33.3


def test_a_scheduled_run_in_a_week_its_recurrence_skips_builds_nothing_but_a_trigger_does(any_db):
    seeded(any_db)
    with Session(any_db) as session:
        config = current_rituals(session)
        triage = config.ritual("signal_triage").model_copy(update={"every": Recurrence.biweekly, "anchor": NOW.date() + timedelta(days=7)})
        body = config.model_copy(update={"rituals": [triage if r.key == "signal_triage" else r for r in config.rituals]})
        config_store.append(session, RITUALS_KIND, RitualsConfigIn.model_validate(body.model_dump()).model_dump(mode="json"),
                            created_by="rory")
    motion = triage.motions[0]
    off_week = RITUALS.prepare_ritual_run(RitualRun(ritual_key="signal_triage", motion=motion, scheduled_at=NOW))
    assert off_week.start is None and "does not meet this week" in off_week.reason
    on_week = RITUALS.prepare_ritual_run(RitualRun(ritual_key="signal_triage", motion=motion, scheduled_at=NOW + timedelta(days=7)))
    assert on_week.start.closes_at == on_week.start.meeting_at + timedelta(days=14)
    by_hand = RITUALS.prepare_ritual_run(RitualRun(ritual_key="signal_triage", motion=motion, scheduled_at=NOW, by_hand=True))
    assert by_hand.start is not None and by_hand.start.closes_at == on_week.start.meeting_at
