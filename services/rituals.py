"""Rituals (Layer IV): the versioned rituals config, when each ritual's agenda is built, and the Temporal Schedules
that build them (one per ritual and motion, plus the monthly flywheel), kept in step with the config.

The times are computed by the pure functions here; `calendar_for` turns the same numbers into the schedule's
calendar, so what the tests drive on the time-skipping server is what the schedules fire on a real cluster."""

import logging
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import HttpUrl
from sqlmodel import Session, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    SchedulePolicy,
    ScheduleOverlapPolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from core import config_store
from core.db import in_session
from core.errors import PillarError
from core.outbound import check_outbound_url
from core.settings import get_settings
from core.temporal import put_schedule, rpc_timeout
from models.flywheel import FlywheelRun
from models.rituals import (
    ALL_MOTIONS,
    WEEK,
    FlywheelSettings,
    RitualDef,
    RitualRun,
    RitualsConfig,
    RitualsConfigIn,
    RitualsConfigWritten,
    RitualSegment,
    RitualStart,
    RitualsView,
    RitualView,
    ScheduleChange,
    TriggeredRun,
)
from models.tables import Account, AgendaRow, ConfigVersion
from workflows.flywheel import FlywheelWorkflow
from workflows.ritual import RitualWorkflow

RITUALS = "rituals"
RITUAL_SCHEDULE_PREFIX = "ritual-"
FLYWHEEL_SCHEDULE_ID = "flywheel-monthly"
log = logging.getLogger(__name__)
QUARTER = timedelta(weeks=14)  # far enough ahead to find the next meeting of any recurrence


def _ritual(key, kind, name, day, at, enabled=False):
    return {"key": key, "kind": kind, "name": name, "day": day, "time": at, "timezone": "America/New_York", "lead": "PT1H",
            "motions": ["academic", "credentialed"], "enabled": enabled}


# Rolled out one at a time (issue 16): Monday triage first, each of the others switched on once the one before sticks
# (ROLLOUT_ORDER, services/ritual_rollout.py).
DEFAULT_RITUALS = {
    "rituals": [
        _ritual("signal_triage", "signal_triage", "Monday signal triage", "monday", "09:00", enabled=True),
        _ritual("execution_one_on_ones", "execution_one_on_ones", "Tuesday execution 1:1s", "tuesday", "10:00"),
        _ritual("forecast_call", "forecast_call", "Wednesday forecast call", "wednesday", "11:00"),
        _ritual("at_risk_review", "at_risk_review", "Thursday at-risk review", "thursday", "14:00"),
        _ritual("retro", "retro", "Friday retro", "friday", "15:00"),
        # The cadences beyond the weekly five: off until each is rolled out (the rollout switches them on one by one).
        {**_ritual("renewal_triage", "renewal_triage", "Biweekly renewal triage", "tuesday", "13:00"), "every": "biweekly", "enabled": False},
        {**_ritual("pipeline_review", "pipeline_review", "Weekly pipeline review", "monday", "14:00"), "enabled": False},
        {**_ritual("territory_review", "territory_review", "Monthly territory review", "wednesday", "15:00"), "every": "monthly",
         "enabled": False},
        {**_ritual("business_review", "business_review", "Quarterly business review", "thursday", "10:00"), "every": "quarterly",
         "motions": ["all"], "enabled": False},
        {**_ritual("board_prep", "board_prep", "CRO board prep", "monday", "07:30"), "motions": ["all"], "enabled": False},
    ],
}


# --- config ------------------------------------------------------------------------------------------------


def load_default_rituals(session: Session) -> None:
    """Write version 1 of the rituals config if there is none (never overwrites an edited one)."""
    config_store.seed(session, RITUALS, RitualsConfigIn.model_validate(DEFAULT_RITUALS).model_dump(mode="json"))


def config_out(row) -> RitualsConfig:
    return RitualsConfig.model_validate({**row.body, "version": row.version, "created_at": row.created_at,
                                         "created_by": row.created_by})


def current_rituals(session: Session) -> RitualsConfig:
    row = config_store.latest(session, RITUALS)
    if row is None:
        raise PillarError("not_found", "no rituals config has been written yet: PUT /api/v1/config/rituals")
    return config_out(row)


def rituals_version(session: Session, version: int) -> RitualsConfig:
    row = config_store.get(session, RITUALS, version)
    if row is None:
        raise PillarError("not_found", f"no rituals config version {version}")
    return config_out(row)


def redact_webhooks(config: RitualsConfig) -> RitualsConfig:
    """The config as someone who cannot edit it sees it: a webhook URL often carries its secret in the path
    (chat incoming webhooks do), so only its scheme and host are shown."""
    rituals = []
    for ritual in config.rituals:
        if ritual.webhook_url:
            url = ritual.webhook_url
            ritual = ritual.model_copy(update={"webhook_url": HttpUrl(f"{url.scheme}://{url.host}/redacted")})
        rituals.append(ritual)
    return config.model_copy(update={"rituals": rituals})


def find_ritual(config: RitualsConfig, key: str) -> RitualDef:
    ritual = config.ritual(key)
    if ritual is None:
        keys = ", ".join(r.key for r in config.rituals)
        raise PillarError("not_found", f"no ritual {key!r} in rituals config v{config.version}; rituals: {keys}")
    return ritual


# --- names -------------------------------------------------------------------------------------------------


def motion_slug(motion: str) -> str:
    """A motion as it appears in ids: lower case, anything but letters and digits turned into '-'."""
    return re.sub(r"[^a-z0-9]+", "-", motion.lower()).strip("-") or "x"


def schedule_id(ritual_key: str, motion: str) -> str:
    return f"{RITUAL_SCHEDULE_PREFIX}{ritual_key}-{motion_slug(motion)}"


def agenda_id_for(ritual_key: str, motion: str, meeting_at: datetime) -> str:
    return f"agd-{ritual_key}-{motion_slug(motion)}-{meeting_at.astimezone(UTC):%Y%m%dT%H%MZ}"


# --- time: pure functions ------------------------------------------------------------------------------------


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _localize(naive: datetime, zone: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=zone).astimezone(UTC)


def build_slot(ritual: RitualDef) -> tuple[int, int, int, int]:
    """(weekday Monday=0, hour, minute, second) of the agenda build: the meeting's wall-clock time minus the lead."""
    hour, minute = (int(part) for part in ritual.time.split(":"))
    meeting = ritual.day.index * 86400 + hour * 3600 + minute * 60
    at = (meeting - int(ritual.lead.total_seconds())) % int(WEEK.total_seconds())
    day, rest = divmod(at, 86400)
    return day, rest // 3600, rest % 3600 // 60, rest % 60


def _weekly(slot: tuple[int, int, int, int], zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    day, hour, minute, second = slot
    first, last = _wall_clock(after, zone).date() - timedelta(days=1), _wall_clock(until, zone).date() + timedelta(days=1)
    times = []
    current = first + timedelta(days=(day - first.weekday()) % 7)
    while current <= last:
        moment = _localize(datetime.combine(current, time(hour, minute, second)), zone)
        if after < moment <= until:
            times.append(moment)
        current += timedelta(days=7)
    return times


def build_times(ritual: RitualDef, after: datetime, until: datetime) -> list[datetime]:
    """When the ritual's agenda is built, strictly after `after` and up to `until`, in UTC: its schedule fires every
    week, and builds an agenda in the weeks its recurrence meets (`meets`)."""
    weekly = _weekly(build_slot(ritual), ZoneInfo(ritual.timezone), after, until)
    return [at for at in weekly if meets(ritual, meeting_for(ritual, at))]


def meets(ritual: RitualDef, meeting_at: datetime) -> bool:
    return ritual.meets_on(_wall_clock(meeting_at, ZoneInfo(ritual.timezone)).date())


def meeting_for(ritual: RitualDef, built_at: datetime) -> datetime:
    """The meeting an agenda built at `built_at` is for: the lead added on the wall clock (so DST cannot shift it)."""
    zone = ZoneInfo(ritual.timezone)
    return _localize(_wall_clock(built_at, zone) + ritual.lead, zone)


def next_meeting_after(ritual: RitualDef, meeting_at: datetime) -> datetime:
    """The ritual's next meeting: a week on, or the next week its recurrence meets (a quarter at most)."""
    zone = ZoneInfo(ritual.timezone)
    wall = _wall_clock(meeting_at, zone) + WEEK
    while not ritual.meets_on(wall.date()):
        wall += WEEK
    return _localize(wall, zone)


def previous_weekday_start(moment: datetime, timezone: str, weekday: int, strictly_before: bool = True) -> datetime:
    """Midnight (local) of the latest `weekday` (Monday=0) before `moment`'s local date (or on it)."""
    zone = ZoneInfo(timezone)
    local = _wall_clock(moment, zone).date()
    back = (local.weekday() - weekday) % 7
    if back == 0 and strictly_before:
        back = 7
    return _localize(datetime.combine(local - timedelta(days=back), time()), zone)


def flywheel_times(settings: FlywheelSettings, after: datetime, until: datetime) -> list[datetime]:
    zone = ZoneInfo(settings.timezone)
    hour, minute = (int(part) for part in settings.time.split(":"))
    start = _wall_clock(after, zone).date().replace(day=1)
    times = []
    month = start
    while True:
        moment = _localize(datetime.combine(month.replace(day=settings.day_of_month), time(hour, minute)), zone)
        if moment > until:
            return times
        if moment > after:
            times.append(moment)
        month = (month + timedelta(days=32)).replace(day=1)


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_start(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


# --- a run's start -------------------------------------------------------------------------------------------


def start_for(session: Session, ritual_key: str, motion: str, scheduled_at: datetime,
              by_hand: bool = False) -> RitualStart | None:
    """Resolve the ritual as configured now, once (None: it was removed, disabled, no longer has this motion, or
    its schedule fired in a week its recurrence does not meet)."""
    config = current_rituals(session)
    ritual = config.ritual(ritual_key)
    if ritual is None or not ritual.enabled or motion not in ritual.motions:
        return None
    meeting_at = meeting_for(ritual, scheduled_at)
    if not by_hand and not meets(ritual, meeting_at):
        return None
    return RitualStart(
        agenda_id=agenda_id_for(ritual_key, motion, meeting_at),
        ritual=ritual,
        triage=config.triage,
        config_version=config.version,
        motion=motion,
        scheduled_at=scheduled_at,
        meeting_at=meeting_at,
        closes_at=next_meeting_after(ritual, meeting_at),
    )


def segment_accounts(session: Session, motion: str) -> dict[str, Account]:
    query = select(Account)
    if motion != ALL_MOTIONS:
        query = query.where(Account.motion == motion)
    return {a.id: a for a in session.exec(query.order_by(Account.id))}


# --- views ---------------------------------------------------------------------------------------------------


def rituals_view(session: Session, now: datetime | None = None, redact: bool = True) -> RitualsView:
    config = current_rituals(session)
    config = redact_webhooks(config) if redact else config
    now = now or datetime.now(UTC)
    views = []
    for ritual in config.rituals:
        segments = []
        for motion in ritual.motions:
            upcoming = build_times(ritual, now, now + QUARTER) if ritual.enabled else []
            latest = session.exec(
                select(AgendaRow.id).where(AgendaRow.ritual_key == ritual.key, AgendaRow.motion == motion)
                .order_by(AgendaRow.meeting_at.desc()).limit(1)
            ).first()
            segments.append(RitualSegment(
                motion=motion, schedule_id=schedule_id(ritual.key, motion),
                next_build_at=upcoming[0] if upcoming else None,
                next_meeting_at=meeting_for(ritual, upcoming[0]) if upcoming else None,
                latest_agenda_id=latest,
            ))
        views.append(RitualView(**ritual.model_dump(), segments=segments))
    return RitualsView(config_version=config.version, rituals=views)


# --- schedules ------------------------------------------------------------------------------------------------


def _temporal_weekday(python_weekday: int) -> int:
    return (python_weekday + 1) % 7  # Temporal counts Sunday as 0


def calendar_for(ritual: RitualDef) -> ScheduleSpec:
    day, hour, minute, second = build_slot(ritual)
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(
            second=[ScheduleRange(second)], minute=[ScheduleRange(minute)], hour=[ScheduleRange(hour)],
            day_of_week=[ScheduleRange(_temporal_weekday(day))],
            comment=f"{ritual.name}: agenda built {ritual.lead} before the {ritual.day.value} {ritual.time} meeting",
        )],
        time_zone_name=ritual.timezone,
    )


def flywheel_calendar(settings: FlywheelSettings) -> ScheduleSpec:
    hour, minute = (int(part) for part in settings.time.split(":"))
    return ScheduleSpec(
        calendars=[ScheduleCalendarSpec(second=[ScheduleRange(0)], minute=[ScheduleRange(minute)], hour=[ScheduleRange(hour)],
                                        day_of_month=[ScheduleRange(settings.day_of_month)], comment="flywheel: monthly proposals")],
        time_zone_name=settings.timezone,
    )


def ritual_policy(ritual: RitualDef) -> SchedulePolicy:
    """Last week's run hands its open action items over to this week's (workflows/ritual.py). CANCEL_OTHER
    cancels it (it releases them and completes) and starts this week's only once it has closed, so the new run
    finds them released; runs can no longer pile up. Not BUFFER_ONE: last week's run ends only when asked to, so
    this week's would wait behind it until every old item had an outcome; not ALLOW_ALL: that is the pile-up."""
    return SchedulePolicy(overlap=ScheduleOverlapPolicy.CANCEL_OTHER, catchup_window=max(ritual.lead, timedelta(minutes=1)))


def desired_schedules(config: RitualsConfig) -> dict[str, Schedule]:
    queue = get_settings().temporal_task_queue
    note = f"Pillar rituals config v{config.version}"
    schedules: dict[str, Schedule] = {}
    for ritual in (r for r in config.rituals if r.enabled):
        for motion in ritual.motions:
            sid = schedule_id(ritual.key, motion)
            schedules[sid] = Schedule(
                action=ScheduleActionStartWorkflow(RitualWorkflow.run, RitualRun(ritual_key=ritual.key, motion=motion),
                                                   id=sid, task_queue=queue),
                spec=calendar_for(ritual),
                policy=ritual_policy(ritual),
                state=ScheduleState(note=note),
            )
    if config.flywheel.enabled:
        schedules[FLYWHEEL_SCHEDULE_ID] = Schedule(
            action=ScheduleActionStartWorkflow(FlywheelWorkflow.run, FlywheelRun(), id=FLYWHEEL_SCHEDULE_ID, task_queue=queue),
            spec=flywheel_calendar(config.flywheel),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=timedelta(days=1)),
            state=ScheduleState(note=note),
        )
    return schedules


async def _listed_schedule_ids(client: Client) -> set[str]:
    """Pillar's schedules as Temporal lists them (visibility: may lag a few seconds behind)."""
    ids = set()
    try:
        async for listed in await client.list_schedules():
            if listed.id.startswith(RITUAL_SCHEDULE_PREFIX) or listed.id == FLYWHEEL_SCHEDULE_ID:
                ids.add(listed.id)
    except RPCError as error:
        log.warning("could not list schedules (%s); deleting only those earlier config versions named", error)
    return ids


async def sync_schedules(client: Client, config: RitualsConfig, known_ids: Iterable[str] = ()) -> list[ScheduleChange]:
    """Create or update the schedule of every enabled ritual and motion (and the flywheel's), and delete Pillar's
    schedules the config no longer names. Safe to run again: it converges on the config."""
    desired = desired_schedules(config)
    changes = []
    for sid, schedule in desired.items():
        changes.append(ScheduleChange(schedule_id=sid, action=await put_schedule(client, sid, schedule)))
    for sid in sorted((set(known_ids) | await _listed_schedule_ids(client)) - set(desired)):
        try:
            await client.get_schedule_handle(sid).delete()
            changes.append(ScheduleChange(schedule_id=sid, action="deleted"))
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
    return changes


async def write_rituals_config(session: Session | AsyncSession, client: Client, body: RitualsConfigIn,
                               editor_id: str) -> RitualsConfigWritten:
    """Write a new version and bring the Temporal Schedules in line with it (created, updated, deleted). Runs already
    started keep the version they resolved. When Temporal cannot be reached the version is still written, the answer
    says so in `schedules_error`, and the worker re-syncs when it next starts."""
    for ritual in body.rituals:
        if ritual.webhook_url:
            check_outbound_url(str(ritual.webhook_url), get_settings(), f"rituals[{ritual.key}].webhook_url")

    def write(sync_session: Session) -> tuple[RitualsConfig, set[str]]:
        row = config_store.append(sync_session, RITUALS, body.model_dump(mode="json"), created_by=editor_id)
        return config_out(row), schedule_ids_of_all_versions(sync_session)

    config, known_ids = await in_session(session, write)
    written = RitualsConfigWritten(version=config.version)
    try:
        written.schedules = await sync_schedules(client, config, known_ids)
    except (RPCError, RuntimeError) as error:
        log.warning("rituals config v%s written but schedules not synced: %s", config.version, error)
        written.schedules_error = f"schedules not synced: {error}"
    return written


def schedule_ids_of_all_versions(session: Session) -> set[str]:
    """Every schedule any rituals config version has named: what a sync may need to delete."""
    ids = {FLYWHEEL_SCHEDULE_ID}
    for row in session.exec(select(ConfigVersion).where(ConfigVersion.kind == RITUALS)):
        for ritual in config_out(row).rituals:
            ids |= {schedule_id(ritual.key, motion) for motion in ritual.motions}
    return ids


def _rituals_in_force(session: Session) -> tuple[RitualsConfig | None, set[str]]:
    row = config_store.latest(session, RITUALS)
    return (config_out(row) if row else None), schedule_ids_of_all_versions(session)


async def ensure_schedules(session: Session | AsyncSession, client: Client) -> list[ScheduleChange]:
    """Bring Temporal's schedules in line with the rituals config in force (the worker runs this on start)."""
    config, known_ids = await in_session(session, _rituals_in_force)
    if config is None:
        log.warning("no rituals config: no ritual schedules registered (load the defaults or PUT /api/v1/config/rituals)")
        return []
    return await sync_schedules(client, config, known_ids)


def _motions_to_trigger(session: Session, ritual_key: str, motion: str | None) -> list[str]:
    ritual = find_ritual(current_rituals(session), ritual_key)
    if not ritual.enabled:
        raise PillarError("conflict", f"ritual {ritual_key!r} is not enabled: rituals are switched on one at a time "
                          "(GET /api/v1/cadences/rollout says which is next); enable it in the rituals config first")
    if motion is not None and motion not in ritual.motions:
        raise PillarError("invalid", f"ritual {ritual_key!r} runs for {', '.join(ritual.motions)}, not {motion!r}",
                          {"field": "motion", "motions": ritual.motions})
    return [motion] if motion else list(ritual.motions)


async def trigger(session: Session | AsyncSession, client: Client, ritual_key: str, motion: str | None) -> list[TriggeredRun]:
    """Build the ritual's agenda now (for a meeting `lead` from now), outside its schedule."""
    runs = []
    for each in await in_session(session, _motions_to_trigger, ritual_key, motion):
        workflow_id = f"{schedule_id(ritual_key, each)}-manual-{uuid.uuid4().hex[:10]}"
        await client.start_workflow(RitualWorkflow.run, RitualRun(ritual_key=ritual_key, motion=each, by_hand=True), id=workflow_id,
                                    task_queue=get_settings().temporal_task_queue, rpc_timeout=rpc_timeout())
        runs.append(TriggeredRun(motion=each, workflow_id=workflow_id))
    return runs
