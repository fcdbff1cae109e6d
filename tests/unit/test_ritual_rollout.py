"""The rituals' rollout on the database: Monday triage enabled alone by default, since when each ritual is enabled
(the config version that switched it on), its weekly completion rate since then against the 75% target, whether it
sticks, and which ritual to switch on next."""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core import config_store
from core.seed import load_default_config
from models.rituals import ActionItem, RitualsConfigIn
from models.tables import ActionItemRow, ConfigVersion
from services.ritual_rollout import STICK_WEEKS, TARGET_PCT, rollout_view
from services.rituals import DEFAULT_RITUALS, RITUALS, current_rituals

NOW = datetime.now(UTC)


def test_the_shipped_rituals_enable_monday_triage_only():
    config = RitualsConfigIn.model_validate(DEFAULT_RITUALS)
    assert [r.key for r in config.rituals if r.enabled] == ["signal_triage"]


def _items(session: Session, ritual_key: str, weeks_ago: int, on_time: int, late: int) -> None:
    meeting = NOW - timedelta(weeks=weeks_ago)
    for n in range(on_time + late):
        due = meeting + timedelta(days=2)
        done = due - timedelta(days=1) if n < on_time else due + timedelta(days=1)
        item = ActionItem(id=f"agd-{ritual_key}-{weeks_ago}-a{n}", agenda_id=f"agd-{ritual_key}-{weeks_ago}", ritual_key=ritual_key,
                          motion="academic", title=f"item {n}", owner_id="casey", due_at=due, created_at=meeting,
                          outcome="renewed", outcome_at=done)
        session.add(ActionItemRow(id=item.id, agenda_id=item.agenda_id, ritual_key=ritual_key, motion="academic",
                                  meeting_at=meeting, owner_id="casey", is_open=False, outcome="renewed", due_at=due,
                                  outcome_at=done, state=item.model_dump(mode="json")))
    session.commit()


def _switch_on(session: Session, key: str, written_at: datetime, on: bool = True) -> None:
    config = current_rituals(session)
    rituals = [r.model_copy(update={"enabled": on}) if r.key == key else r for r in config.rituals]
    body = RitualsConfigIn.model_validate({**config.model_dump(), "rituals": rituals}).model_dump(mode="json")
    _backdate(session, config_store.append(session, RITUALS, body, created_by="rory"), written_at)


def _backdate(session: Session, row: ConfigVersion, written_at: datetime) -> None:
    row.created_at = written_at
    session.add(row)
    session.commit()


def test_triage_sticks_at_75_percent_for_three_weeks_and_the_1on1s_are_next(sqlite_db):
    with Session(sqlite_db) as session:
        load_default_config(session)
        _backdate(session, config_store.latest(session, RITUALS), NOW - timedelta(weeks=4))
        _items(session, "signal_triage", 4, on_time=1, late=1)  # the first week: 50%
        for weeks_ago in (3, 2, 1):
            _items(session, "signal_triage", weeks_ago, on_time=3, late=1)  # 75%: at the target
        _items(session, "forecast_call", 2, on_time=4, late=0)  # not enabled: not tracked

        view = rollout_view(session, NOW)
        assert (view.target_pct, view.stick_weeks) == (TARGET_PCT, STICK_WEEKS) == (75.0, 3)
        assert [r.ritual_key for r in view.rituals][:5] == ["signal_triage", "execution_one_on_ones", "forecast_call",
                                                             "at_risk_review", "retro"]
        triage = view.rituals[0]
        assert (triage.enabled, triage.enabled_in_version, triage.enabled_since) == (True, 1, NOW - timedelta(weeks=4))
        assert [w.completion_rate_pct for w in triage.weeks] == [50.0, 75.0, 75.0, 75.0, None]
        assert triage.completion_rate_pct == round(100 * 10 / 14, 1)
        assert (triage.weeks_at_target, triage.sticks) == (3, True)
        forecast = next(r for r in view.rituals if r.ritual_key == "forecast_call")
        assert (forecast.enabled, forecast.enabled_since, forecast.weeks, forecast.sticks) == (False, None, [], False)
        assert view.next_to_enable == "execution_one_on_ones" and "Tuesday execution 1:1s" in view.next_reason

        _switch_on(session, "execution_one_on_ones", NOW - timedelta(weeks=1))
        _items(session, "execution_one_on_ones", 1, on_time=1, late=1)
        view = rollout_view(session, NOW)
        one_on_ones = view.rituals[1]
        assert (one_on_ones.enabled_in_version, one_on_ones.enabled_since) == (2, NOW - timedelta(weeks=1))
        assert [w.completion_rate_pct for w in one_on_ones.weeks] == [50.0, None] and not one_on_ones.sticks
        assert view.rituals[0].enabled_in_version == 1  # still enabled since the first version
        assert view.next_to_enable is None and "once these stick" in view.next_reason and "Tuesday" in view.next_reason


def test_a_week_below_the_target_starts_the_count_again_and_switching_off_resets_since(sqlite_db):
    with Session(sqlite_db) as session:
        load_default_config(session)
        _backdate(session, config_store.latest(session, RITUALS), NOW - timedelta(weeks=4))
        for weeks_ago, late in ((4, 0), (3, 0), (2, 3), (1, 0)):
            _items(session, "signal_triage", weeks_ago, on_time=3, late=late)
        triage = rollout_view(session, NOW).rituals[0]
        assert (triage.weeks_at_target, triage.sticks) == (1, False)  # 100, 100, 50, 100: one week running

        _switch_on(session, "signal_triage", NOW - timedelta(weeks=2), on=False)
        _switch_on(session, "signal_triage", NOW - timedelta(days=3))
        triage = rollout_view(session, NOW).rituals[0]
        assert triage.enabled_in_version == 3 and triage.enabled_since == NOW - timedelta(days=3)
