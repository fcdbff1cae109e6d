"""Cadences (Layer IV): the rituals config, agendas, action items and the completion metrics. Pure Pydantic
(RitualWorkflow imports it)."""

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, HttpUrl, field_validator, model_validator

from models.common import Actor, Duration, Identifier, Instant, Points, PositiveDuration, Severity
from models.tasks import FINAL_OUTCOMES, Outcome

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
ALL_MOTIONS = "all"
WEEK = timedelta(days=7)
# A meeting that decides more than this is keeping a backlog, not taking decisions; the cap also bounds the size of
# the run's state (its query answer) and of its history.
MAX_ACTION_ITEMS = 200
TITLE_MAX, NOTE_MAX, BLOCKED_ON_MAX, REF_MAX = 500, 4000, 500, 220


class RitualKind(StrEnum):
    """What the agenda is built from (DESIGN.md, Layer IV)."""

    signal_triage = "signal_triage"
    execution_one_on_ones = "execution_one_on_ones"
    forecast_call = "forecast_call"
    at_risk_review = "at_risk_review"
    retro = "retro"
    renewal_triage = "renewal_triage"
    pipeline_review = "pipeline_review"
    territory_review = "territory_review"
    business_review = "business_review"
    board_prep = "board_prep"


class Recurrence(StrEnum):
    """How often a ritual meets, on its `day`: every week, every other week (counted from `anchor`), the first
    `day` of every month, or of January, April, July and October."""

    weekly = "weekly"
    biweekly = "biweekly"
    monthly = "monthly"
    quarterly = "quarterly"


QUARTER_MONTHS = (1, 4, 7, 10)


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def index(self) -> int:
        """Monday 0 … Sunday 6, as `date.weekday()`."""
        return list(Weekday).index(self)


def _valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{value!r} is not an IANA time zone such as America/New_York, Europe/Paris or UTC") from error
    return value


def _hh_mm(value: str) -> str:
    if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", value):
        raise ValueError(f"{value!r} is not a time of day as HH:MM (24-hour), such as 09:00")
    return value


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_valid_timezone)]
TimeOfDay = Annotated[str, Field(max_length=5, json_schema_extra={"pattern": r"^\d{2}:\d{2}$"}), AfterValidator(_hh_mm)]


class RitualDef(BaseModel):
    """One weekly ritual. It runs once per motion in `motions`, each with its own agenda and schedule, so one
    motion cannot drown the other; `all` is one agenda over every account."""

    key: str = Field(pattern=KEY_PATTERN, max_length=40)
    kind: RitualKind
    name: str = Field(min_length=1, max_length=200)
    day: Weekday
    every: Recurrence = Field(default=Recurrence.weekly, description=Recurrence.__doc__.replace("\n    ", " "))
    anchor: date = Field(default=date(2026, 1, 5), ge=date(2000, 1, 1), le=date(2099, 12, 31),
                         description="biweekly: a day in a week the ritual meets")
    time: TimeOfDay = Field(description="Meeting time of day, HH:MM (24-hour), in `timezone`")
    timezone: TimeZoneName = Field(default="America/New_York", description="IANA time zone of the meeting")
    lead: PositiveDuration = Field(default=timedelta(hours=1), description="How long before the meeting the agenda is built")
    webhook_url: HttpUrl | None = Field(default=None, description="The agenda is POSTed here as JSON once built")
    motions: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default=[ALL_MOTIONS], min_length=1, max_length=50, description="One agenda per motion; `all`: every account")
    action_item_due: PositiveDuration = Field(default=timedelta(days=7), description="Default due date of an action item, from the meeting")
    escalate_after: Duration = Field(default=timedelta(days=1), description="From an overdue action item to its owner's manager's page")
    limit: int = Field(default=5, ge=1, le=100, description="How many accounts the at-risk review lists")
    enabled: bool = True

    def meets_on(self, day: date) -> bool:
        """Whether a meeting falls on `day` (one of the ritual's weekdays) under its recurrence."""
        if self.every == Recurrence.biweekly:
            return ((day - self.anchor).days + self.anchor.weekday() - day.weekday()) // 7 % 2 == 0
        if self.every == Recurrence.monthly:
            return day.day <= 7
        if self.every == Recurrence.quarterly:
            return day.day <= 7 and day.month in QUARTER_MONTHS
        return True

    @field_validator("lead")
    @classmethod
    def _lead_within_a_week(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value < WEEK:
            raise ValueError("lead must be longer than zero and shorter than a week (P7D)")
        return value

    @field_validator("action_item_due")
    @classmethod
    def _positive_due(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("action_item_due must be longer than zero")
        return value

    @field_validator("motions")
    @classmethod
    def _motions(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a motion is listed twice")
        if ALL_MOTIONS in value and len(value) > 1:
            raise ValueError("`all` already covers every account: list it alone or list motions")
        for motion in value:
            if not motion.strip() or len(motion) > 64:
                raise ValueError(f"{motion!r} is not a motion name")
        return value


class TriageWeights(BaseModel):
    """Monday triage ranks each signal by: severity + ARR + SLA state (+ overdue tasks, + new since Friday)."""

    severity: dict[Severity, Points] = {Severity.critical: 50, Severity.warning: 25, Severity.info: 10}
    arr_points_per_10k: Points = Field(1.0, ge=0, description="points per $10K of the account's ARR")
    arr_cap: Points = Field(30, ge=0)
    sla_escalated: Points = Field(20, description="unacknowledged and escalated")
    sla_per_extra_level: Points = Field(5, description="per escalation level above the first")
    sla_lapsed: Points = Field(15, description="unacknowledged past its SLA, not yet escalated")
    sla_open: Points = Field(5, description="unacknowledged within its SLA")
    sla_acknowledged: Points = 0
    overdue_task: Points = Field(10, description="per task of the signal past its due date")
    new_since_friday: Points = Field(5, description="fired since the previous Friday")


class FlywheelSettings(BaseModel):
    """The monthly flywheel: when it runs and how much evidence a proposal needs."""

    day_of_month: int = Field(1, ge=1, le=28)
    time: TimeOfDay = "06:00"
    timezone: TimeZoneName = "UTC"
    lookback: PositiveDuration = Field(default=timedelta(days=90), description="Outcomes recorded in this window are read")
    min_sample: int = Field(5, ge=1, le=100_000, description="Decided outcomes (saved or lost) a band needs before it is judged")
    tier_step: float = Field(5, gt=0, le=100, description="Points a tier threshold moves in one proposal")
    loss_rate_tolerance: float = Field(0.10, ge=0, le=1, description="A band losing within this of the band above behaves like it")
    weight_step: float = Field(0.25, gt=0, le=1, description="Relative change of a weight in one proposal")
    min_lift: float = Field(0.30, gt=0, le=1, description="How much more often a component must be present in losses than in saves")
    enabled: bool = True


class RitualsConfigIn(BaseModel):
    rituals: list[RitualDef] = Field(min_length=1, max_length=50)
    triage: TriageWeights = TriageWeights()
    flywheel: FlywheelSettings = FlywheelSettings()

    @model_validator(mode="after")
    def _unique_keys(self) -> "RitualsConfigIn":
        keys = [r.key for r in self.rituals]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"two rituals with key {twice[0]!r}")
        return self

    def ritual(self, key: str) -> RitualDef | None:
        return next((r for r in self.rituals if r.key == key), None)


class RitualsConfig(RitualsConfigIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


# --- a ritual's run ---------------------------------------------------------------------------------------


class RitualRun(BaseModel):
    """RitualWorkflow's input, fixed in the schedule's action. `scheduled_at` is for runs started by hand or by
    tests; a scheduled run reads its nominal time from Temporal (TemporalScheduledStartTime). `by_hand`: started by
    someone (a trigger), so it runs whatever the recurrence says of this week. `resume`: the state a run carries
    into its continuation (continue-as-new)."""

    ritual_key: str
    motion: str
    scheduled_at: datetime | None = None
    by_hand: bool = False
    resume: "RitualResume | None" = None


class RitualStart(BaseModel):
    """Everything a ritual's run depends on, resolved once by its first activity and recorded in its history."""

    agenda_id: str
    ritual: RitualDef
    triage: TriageWeights
    config_version: int
    motion: str
    scheduled_at: datetime
    meeting_at: datetime
    closes_at: datetime = Field(description="The next meeting of the same ritual: action items are added until then")


class PreparedRitual(BaseModel):
    start: RitualStart | None = None
    reason: str = ""


class AgendaPost(BaseModel):
    url: str
    agenda_id: str


class BuildAgendaRequest(BaseModel):
    start: RitualStart
    as_of: datetime
    workflow_id: str


class AgendaRef(BaseModel):
    id: str
    workflow_id: str | None
    items: int
    owned: bool = Field(default=True, description="False: another run built this meeting's agenda first and tracks it")
    decidable: list[str] = Field(default_factory=list, description="The refs a decision may be recorded on (decidable_refs)")


class AgendaStatus(StrEnum):
    open = "open"
    closed = "closed"


class AgendaItem(BaseModel):
    kind: str = Field(description="signal, task, play_step, action_item, commit, opportunity, renewal, account, cross_sell, pattern")
    ref_id: str = Field(description="The id of what it is about (signal, task, play run, action item, account …)")
    title: str
    account_id: str | None = None
    owner_ids: list[str] = Field(default_factory=list)  # factories, not copies of a shared default: agendas hold thousands
    score: float | None = Field(default=None, description="What the section is ranked by (see the agenda's `scoring`)")
    why: str = Field(default="", description="The score in words, component by component")
    due_at: datetime | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list, description="Event ids behind it")


class AgendaSection(BaseModel):
    key: str
    title: str
    owner_id: str | None = None
    summary: str = ""
    items: list[AgendaItem] = []


class Agenda(BaseModel):
    id: str
    ritual_key: str
    ritual_name: str
    kind: RitualKind
    motion: str
    timezone: str
    meeting_at: datetime
    built_at: datetime
    window_start: datetime | None = Field(default=None, description="Start of the period the agenda looks back on")
    config_version: int
    status: AgendaStatus = AgendaStatus.open
    workflow_id: str | None = Field(default=None, description="The ritual run tracking its action items (none for imported history)")
    source: str = Field(default="workflow", description="`workflow`, or `seed` for baseline history loaded with the demo")
    scoring: str = Field(default="", description="How the items are ranked")
    summary: str = ""
    sections: list[AgendaSection] = []
    proposed_pattern: str | None = None
    action_items: list["ActionItem"] = []
    decisions: list["ItemDecision"] = Field(default_factory=list, description="The meeting's decision on each decidable item")
    decisions_expected: int = Field(default=0, description="How many refs the meeting decides on (decisions recorded N of M)")
    revised_commit_last_week: float | None = Field(
        default=None, description="Forecast call: the revised commit the previous meeting recorded, to compare week over week")


class AgendaSummary(BaseModel):
    id: str
    ritual_key: str
    kind: RitualKind
    motion: str
    meeting_at: datetime
    built_at: datetime
    status: AgendaStatus
    source: str
    items: int
    open_action_items: int


# --- action items ------------------------------------------------------------------------------------------


class Carry(BaseModel):
    """One hand-over of an open action item to the next meeting of its ritual: released by the run that tracked it
    when that run ends (the next meeting's run starts), then taken by the next meeting's run."""

    from_agenda_id: str
    from_meeting_at: datetime
    released_at: datetime
    to_agenda_id: str | None = Field(default=None, description="None while released and not yet taken")
    taken_at: datetime | None = None

    @property
    def text(self) -> str:
        return f"carried over from {self.from_meeting_at:%a %d %b %Y}"


class ActionItem(BaseModel):
    id: str
    agenda_id: str
    ritual_key: str
    motion: str
    title: str
    owner_id: str
    due_at: datetime
    created_at: datetime
    created_by: str | None = None
    ref_id: str | None = Field(default=None, description="The agenda item it was decided on (a signal, account …)")
    outcome: Outcome | None = None
    note: str | None = None
    blocked_on: str | None = None
    outcome_at: datetime | None = None
    outcome_by: str | None = None
    overdue_paged: bool = False
    escalate_at: datetime | None = None
    escalated_at: datetime | None = None
    escalated_to: list[str] = []
    carries: list[Carry] = Field(default_factory=list, description="Its hand-overs from meeting to meeting, oldest first")

    @property
    def holder(self) -> str | None:
        """The agenda whose run tracks it now (None: released, on its way to the next meeting's run)."""
        return self.carries[-1].to_agenda_id if self.carries else self.agenda_id

    @property
    def handovers(self) -> int:
        """How far along its hand-overs it is (each release and each take counts one): a read-model write
        from an earlier holder never overwrites a later one's."""
        return 2 * len(self.carries) - (1 if self.carries and self.carries[-1].to_agenda_id is None else 0)

    @property
    def is_final(self) -> bool:
        return self.outcome in FINAL_OUTCOMES

    @property
    def on_time(self) -> bool:
        return self.is_final and self.outcome_at is not None and self.outcome_at <= self.due_at


class ActionItemIn(BaseModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    owner_id: Identifier
    due_at: Instant | None = Field(default=None, description="Default: the meeting plus the ritual's action_item_due")
    ref_id: str | None = Field(default=None, max_length=REF_MAX)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title is blank")
        return value.strip()


class AddActionItemInput(BaseModel):
    """RitualWorkflow.add_action_item's input; no `due_at`: the meeting plus the ritual's `action_item_due`."""

    actor: Actor
    title: str
    owner_id: str
    due_at: datetime | None = None
    ref_id: str | None = None


class ActionItemOutcomeInput(BaseModel):
    item_id: str
    outcome: Outcome
    note: str | None = None
    blocked_on: str | None = None
    actor: Actor


# --- decisions: each weekly ritual ends with one per agenda item ------------------------------------------


class Decision(StrEnum):
    """Tuesday 1:1s: each item on_track, blocked (the blocker) or help_needed (what help); Wednesday forecast: each
    commit evidenced, vibes or slipping, and the meeting's revised_commit; Thursday at-risk review: each account
    save_play_started (the play run) or deprioritized (why); Friday retro: the pattern proposed to the flywheel, or
    dismissed (why)."""

    on_track = "on_track"
    blocked = "blocked"
    help_needed = "help_needed"
    evidenced = "evidenced"
    vibes = "vibes"
    slipping = "slipping"
    revised_commit = "revised_commit"
    save_play_started = "save_play_started"
    deprioritized = "deprioritized"
    proposed = "proposed"
    dismissed = "dismissed"


MEETING_REF, PATTERN_REF = "meeting", "pattern"  # the forecast's revised commit; the retro's proposed pattern
VOCABULARY = {
    RitualKind.execution_one_on_ones: {Decision.on_track, Decision.blocked, Decision.help_needed},
    RitualKind.forecast_call: {Decision.evidenced, Decision.vibes, Decision.slipping, Decision.revised_commit},
    RitualKind.at_risk_review: {Decision.save_play_started, Decision.deprioritized},
    RitualKind.retro: {Decision.proposed, Decision.dismissed},
}
NEEDS_REASON = frozenset({Decision.blocked, Decision.help_needed, Decision.deprioritized, Decision.dismissed})
REASON_MAX, AMOUNT_MAX = 2000, 1e12


def decidable_refs(agenda: Agenda) -> list[str]:
    """What the meeting decides on: the 1:1s every item, the forecast each commit and its revised number, the
    at-risk review each listed account, the retro its pattern."""
    kind = agenda.kind

    def refs(*keys: str) -> list[str]:
        return [i.ref_id for s in agenda.sections if s.key in keys or (not keys and s.key.startswith("owner-")) for i in s.items]

    if kind == RitualKind.execution_one_on_ones:
        return list(dict.fromkeys(refs()))
    if kind == RitualKind.forecast_call:
        return [*refs("commits"), MEETING_REF]
    if kind == RitualKind.at_risk_review:
        return refs("at_risk")
    if kind == RitualKind.retro and agenda.proposed_pattern:
        return [PATTERN_REF]
    return []


class DecisionIn(BaseModel):
    ref_id: str = Field(min_length=1, max_length=REF_MAX, description=f"An agenda item's ref_id, `{MEETING_REF}` for the "
                                                                      f"forecast's revised commit, `{PATTERN_REF}` for the retro's pattern")
    decision: Decision = Field(description=Decision.__doc__.replace("\n    ", " "))
    reason: str | None = Field(default=None, max_length=REASON_MAX, description="Required for blocked, help_needed, deprioritized, dismissed")
    amount: float | None = Field(default=None, ge=0, le=AMOUNT_MAX, description="revised_commit: the committed number, in dollars")
    play_run_id: str | None = Field(default=None, max_length=REF_MAX, description="save_play_started: the running play run on the account")


class RecordDecisionInput(DecisionIn):
    """RitualWorkflow.record_decision's input."""

    actor: Actor


class ItemDecision(BaseModel):
    ref_id: str
    decision: Decision
    reason: str | None = None
    amount: float | None = None
    play_run_id: str | None = None
    proposal_id: str | None = Field(default=None, description="retro: the flywheel proposal the pattern became")
    decided_at: datetime
    decided_by: str


class RitualState(BaseModel):
    """RitualWorkflow's query answer and what its save activity writes."""

    agenda_id: str | None = None
    ritual_key: str
    motion: str
    meeting_at: datetime | None = None
    closes_at: datetime | None = None
    status: AgendaStatus = AgendaStatus.open
    action_items: list[ActionItem] = []
    decisions: list[ItemDecision] = Field(default_factory=list)


class RitualResume(BaseModel):
    """What a run carries into its continuation: everything it resolved and tracks, so nothing is read twice."""

    start: RitualStart
    state: RitualState
    revision: int
    pages: int
    decidable: list[str] = Field(default_factory=list)


class TakeOver(BaseModel):
    """A run asks for the open action items of its ritual's earlier meetings (same ritual and motion)."""

    agenda_id: str
    ritual_key: str
    motion: str
    meeting_at: datetime
    at: datetime


class TakenOver(BaseModel):
    items: list[ActionItem] = Field(default_factory=list,
                                    description="Every open item of earlier meetings the asking run now holds")
    waiting_for: list[str] = Field(default_factory=list,
                                   description="Runs (workflow ids) still holding open items of earlier meetings")


# --- API views ---------------------------------------------------------------------------------------------


class RitualSegment(BaseModel):
    motion: str
    schedule_id: str
    next_build_at: datetime | None
    next_meeting_at: datetime | None
    latest_agenda_id: str | None = None


class RitualView(RitualDef):
    segments: list[RitualSegment] = []


class RitualsView(BaseModel):
    config_version: int
    rituals: list[RitualView]


class ScheduleChange(BaseModel):
    schedule_id: str
    action: str = Field(description="created, updated or deleted")


class RitualsConfigWritten(BaseModel):
    version: int
    schedules: list[ScheduleChange] = []
    schedules_error: str | None = Field(default=None, description="Set when Temporal could not be reached: the worker re-syncs on start")


class TriggerIn(BaseModel):
    motion: str | None = Field(default=None, min_length=1, max_length=64, description="Default: every motion of the ritual")


class TriggeredRun(BaseModel):
    motion: str
    workflow_id: str


class WeekCompletion(BaseModel):
    week: str = Field(description="ISO week of the meetings, e.g. 2026-W48")
    week_start: date
    created: int
    completed_on_time: int = Field(description="a final outcome recorded by the due date")
    completed_late: int
    open_overdue: int
    pending: int = Field(description="open and not yet due: not counted yet")
    completion_rate_pct: float | None = Field(description="completed_on_time ÷ (created − pending) × 100; null when nothing is due yet")


class RitualCompletion(BaseModel):
    ritual_key: str
    name: str | None = None
    weeks: list[WeekCompletion]
    completion_rate_pct: float | None


class CadenceMetrics(BaseModel):
    as_of: datetime
    definition: str
    rituals: list[RitualCompletion]
    overall: RitualCompletion


Agenda.model_rebuild()
RitualRun.model_rebuild()
