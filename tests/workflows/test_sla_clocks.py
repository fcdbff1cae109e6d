"""SLA clocks on the time-skipping server (issue 19): a business-hours SLA across a weekend, a holiday and a DST
change; a warning before the breach; a re-page, then an escalation, of an acknowledged signal with no task."""

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from sqlmodel import Session

from core import config_store
from core.db import get_engine
from core.temporal import run_update
from models.calendars import CalendarsConfigIn, zone
from models.routing import RoutingConfigIn
from models.signals import AcknowledgeInput, SignalIn, SignalStatus
from models.tasks import TaskIn
from services.signals import current_routing, open_signal, signal_handle
from services.tasks import add_task
from tests.support.db import actor, inbox
from tests.support.histories import record_history
from workflows.signal import SignalWorkflow

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def configure(time_zone: str = "UTC", opens: str = "09:00", closes: str = "17:00", country: str | None = None,
              **rule) -> None:
    """A calendar `team` and the critical renewal_risk rule (owners lee and alex, manager maya) changed by `rule`."""
    calendar = {"name": "team", "time_zone": time_zone, "opens": opens, "closes": closes,
                "holidays": {"country": country} if country else None}
    with Session(get_engine()) as session:
        calendars = CalendarsConfigIn(calendars=[calendar], default="team")
        config_store.append(session, config_store.CALENDARS, calendars.model_dump(mode="json"), "test")
        rules = [r.model_validate({**r.model_dump(), **rule}) if (r.family, r.severity) == ("renewal_risk", "critical")
                 else r for r in current_routing(session).rules]
        config_store.append(session, config_store.ROUTING, RoutingConfigIn(rules=rules).model_dump(mode="json"), "test")


async def skip_to(env, at: datetime) -> None:
    now = await env.get_current_time()
    assert at > now, "the scenario's date must lie ahead of the test server's clock"
    await env.sleep(at - now)


async def open_renewal_risk_at(env, at: datetime | None = None):
    now = at.astimezone(UTC) if at else None
    with Session(get_engine()) as session:
        created, _ = await open_signal(session, env.client, SignalIn(family="renewal_risk", severity="critical", account_id="acme"),
                                       "test", now=now)
    return created, signal_handle(env.client, created.id)


def local_day(time_zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), zone(time_zone))


def next_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


async def breach_at(env, handle) -> datetime:
    """Let the SLA lapse (in at most a few weeks of skipped time) and say when it did."""
    await env.sleep(timedelta(days=21))
    state = await handle.query(SignalWorkflow.state)
    return next(e.at for e in state.timeline if e.type == "sla_lapsed")


async def test_a_business_hours_sla_raised_friday_evening_lapses_monday(ts_env, ts_worker):
    configure(BERLIN, closes="18:00", clock="business", warn_at=0.75,
              escalation=[{"after": "PT0S", "to": "manager"}, {"after": "PT8H", "to": "vp"}])
    today = (await ts_env.get_current_time()).astimezone(zone(BERLIN)).date()
    friday = next_weekday(today, 4)
    raised = local_day(BERLIN, friday, 17, 55)
    await skip_to(ts_env, raised)
    created, handle = await open_renewal_risk_at(ts_env, raised)
    monday = friday + timedelta(days=3)
    assert created.sla_due_at == local_day(BERLIN, monday, 12, 55)

    await skip_to(ts_env, local_day(BERLIN, monday, 12, 50))
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.open and "business hours on calendar team" in state.timeline[0].detail
    # the warning at 75%: three business hours in, Monday 11:55
    warning = next(e for e in state.timeline if e.type == "sla_warning")
    assert abs(warning.at - local_day(BERLIN, monday, 11, 55)) < timedelta(seconds=5)
    assert warning.detail == f"due in 1h (at Mon 12:55 {BERLIN}), unacknowledged"
    await ts_env.sleep(timedelta(minutes=10))
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.escalated and state.escalated_to == ["maya"]
    lapsed = next(e.at for e in state.timeline if e.type == "sla_lapsed")
    assert lapsed - local_day(BERLIN, monday, 12, 55) < timedelta(seconds=5)
    # the next level (vp, PT8H) counts business hours too: 5h05m left on Monday, then Tuesday from 9:00
    await skip_to(ts_env, local_day(BERLIN, monday + timedelta(days=1), 11, 56))
    state = await handle.query(SignalWorkflow.state)
    second = [e.at for e in state.timeline if e.type == "escalated"][1]
    assert abs(second - local_day(BERLIN, monday + timedelta(days=1), 11, 55)) < timedelta(seconds=5)
    await record_history(handle, "signal_business_hours_sla_warned_and_escalated_over_a_weekend")


async def test_a_business_hours_sla_skips_a_public_holiday(ts_env, ts_worker):
    configure(NEW_YORK, country="US", clock="business")
    today = (await ts_env.get_current_time()).astimezone(zone(NEW_YORK)).date()
    closed = holidays.country_holidays("US", years=[today.year, today.year + 1])

    def working(day: date) -> bool:
        return day.weekday() < 5 and day not in closed

    holiday = min(d for d in closed if d > today + timedelta(days=1) and d.weekday() < 5 and working(d - timedelta(days=1)))
    eve = holiday - timedelta(days=1)
    after = holiday + timedelta(days=1)
    while not working(after):
        after += timedelta(days=1)
    raised = local_day(NEW_YORK, eve, 15, 0)
    await skip_to(ts_env, raised)
    created, handle = await open_renewal_risk_at(ts_env, raised)
    assert created.sla_due_at == local_day(NEW_YORK, after, 11, 0)  # two hours on the eve, two after the holiday
    lapsed = await breach_at(ts_env, handle)
    assert abs(lapsed - local_day(NEW_YORK, after, 11, 0)) < timedelta(seconds=5)


async def test_a_business_hours_sla_keeps_local_hours_across_a_dst_change(ts_env, ts_worker):
    configure(BERLIN, clock="business")
    now = await ts_env.get_current_time()
    tz = zone(BERLIN)
    # the first Sunday ahead whose UTC offset differs from the Friday before it
    sunday = next_weekday(now.astimezone(tz).date() + timedelta(days=3), 6)  # its Friday is still ahead
    while local_day(BERLIN, sunday, 12).utcoffset() == local_day(BERLIN, sunday - timedelta(days=2), 12).utcoffset():
        sunday += timedelta(days=7)
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    raised = local_day(BERLIN, friday, 15, 0)
    await skip_to(ts_env, raised)
    created, handle = await open_renewal_risk_at(ts_env, raised)
    lapsed = await breach_at(ts_env, handle)
    assert abs(lapsed - local_day(BERLIN, monday, 11, 0)) < timedelta(seconds=5)  # 2h Friday, 2h Monday, local
    assert lapsed.astimezone(tz).hour == 11 and lapsed.astimezone(tz).utcoffset() != raised.utcoffset()


async def test_a_warning_before_the_breach_then_a_re_page_and_the_manager_after_an_empty_acknowledgement(ts_env, ts_worker):
    configure(warn_at=0.75, repage_after="PT2H")  # wall clock: SLA PT4H
    created, handle = await open_renewal_risk_at(ts_env)
    await ts_env.sleep(timedelta(hours=2, minutes=59))
    assert inbox("lee", created.id) == ["page"]
    await ts_env.sleep(timedelta(minutes=2))
    assert inbox("lee", created.id) == inbox("alex", created.id) == ["page", "sla_warning"]
    state = await handle.query(SignalWorkflow.state)
    warning = next(e for e in state.timeline if e.type == "sla_warning")
    assert warning.detail == "due in 1h, unacknowledged"

    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=actor("alex", "ae")))
    await ts_env.sleep(timedelta(hours=1, minutes=59))
    assert inbox("alex", created.id) == ["page", "sla_warning"] and inbox("maya", created.id) == []
    await ts_env.sleep(timedelta(minutes=2))
    assert inbox("alex", created.id) == inbox("lee", created.id) == ["page", "repage", "sla_warning"]
    await ts_env.sleep(timedelta(hours=2))
    assert inbox("maya", created.id) == ["escalation"]
    state = await handle.query(SignalWorkflow.state)
    assert state.status == SignalStatus.acknowledged and "maya" in state.escalated_to
    types = [e.type for e in state.timeline]
    assert types.index("sla_warning") < types.index("acknowledged") < types.index("repaged") < types.index("repage_escalated")
    assert "sla_lapsed" not in types  # the SLA itself was met
    await record_history(handle, "signal_warned_acknowledged_repaged_then_escalated")


async def test_a_task_chosen_in_time_stops_the_re_page(ts_env, ts_worker):
    configure(repage_after="PT2H")
    created, handle = await open_renewal_risk_at(ts_env)
    alex = actor("alex", "ae")
    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=alex))
    await ts_env.sleep(timedelta(hours=1))
    with Session(get_engine()) as session:
        await add_task(session, ts_env.client, created.id, TaskIn(template_key="renewal_offer"), alex)
    await ts_env.sleep(timedelta(hours=6))
    types = [e.type for e in (await handle.query(SignalWorkflow.state)).timeline]
    assert "repaged" not in types and "repage_escalated" not in types
    assert inbox("maya", created.id) == []


@pytest.mark.parametrize("rule", [{}, {"clock": "wall"}])
async def test_without_the_new_fields_a_rule_behaves_as_before(ts_env, ts_worker, rule):
    configure(**rule)
    created, handle = await open_renewal_risk_at(ts_env)
    start = await ts_env.get_current_time()
    assert abs(created.sla_due_at - start - timedelta(hours=4)) < timedelta(minutes=1)
    await run_update(handle, SignalWorkflow.acknowledge, AcknowledgeInput(actor=actor("alex", "ae")))
    await ts_env.sleep(timedelta(days=2))
    state = await handle.query(SignalWorkflow.state)
    assert [e.type for e in state.timeline] == ["created", "paged", "acknowledged"]
