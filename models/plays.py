"""Plays (seam 03): the play library's shape, a play run's state, and the contracts around PlayWorkflow."""

from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from models.common import Actor, Duration, Identifier, JsonObject, PositiveDuration, Role, TimelineEntry
from models.routing import FAMILY_PATTERN
from models.signals import AccountSnapshot
from models.tasks import FINAL_OUTCOMES, Outcome

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class StepActionDef(BaseModel):
    """An automated action a play step may declare (`action = "..."` in plays/*.toml). PlayWorkflow runs its
    activity when the step's owner completes the step, with the step's output fields: the step is done once the
    action has succeeded. When the activity gives up after `max_attempts`, the step is `failed` and waits for ops."""

    name: str
    activity: str = Field(description="The activity type that carries the action out")
    description: str
    max_attempts: int = Field(ge=1)
    first_retry: timedelta = Field(description="Wait before the second attempt; it doubles at each further one")
    timeout: timedelta = Field(description="How long one attempt may take")


STEP_ACTIONS: dict[str, StepActionDef] = {
    action.name: action
    for action in [
        StepActionDef(
            name="log_to_crm",
            activity="log_step_to_crm",
            description="Log the completed step and its output fields to the CRM as an activity on the account "
            "(POSTed to CRM_WEBHOOK_URL, once per run and step)",
            max_attempts=3,
            first_retry=timedelta(seconds=1),
            timeout=timedelta(seconds=30),
        ),
    ]
}


class StepDef(BaseModel):
    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    owner_role: Role
    depends_on: list[str] = []
    due: PositiveDuration = Field(description="Counted from when the step becomes ready")
    required_fields: list[str] = []
    action: str | None = Field(default=None, description="An automated action run when the step is completed "
                               f"(one of: {', '.join(STEP_ACTIONS)})")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str | None) -> str | None:
        if value is not None and value not in STEP_ACTIONS:
            raise ValueError(f"unknown action {value!r}; the actions are: {', '.join(sorted(STEP_ACTIONS))}")
        return value

    @field_validator("due")
    @classmethod
    def _positive_due(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a step's due duration must be longer than zero")
        return value


class EntryCriteria(BaseModel):
    families: list[str] = Field(min_length=1)

    @field_validator("families")
    @classmethod
    def _family_names(cls, value: list[str]) -> list[str]:
        import re

        for family in value:
            if not re.match(FAMILY_PATTERN, family):
                raise ValueError(f"{family!r} is not a signal family name")
        return value


class PlayDef(BaseModel):
    """One play of the library, as a file in plays/ describes it. A running play keeps the version it started with."""

    key: str = Field(pattern=KEY_PATTERN, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    description: str = ""
    entry: EntryCriteria
    exit_outcomes: list[str] = Field(min_length=1)
    task_outcome: dict[str, Outcome] = Field(
        default={}, description="How an exit outcome that is not itself a task outcome feeds back to the linked task"
    )
    escalate_after: Duration = Field(default=timedelta(days=1), description="From an overdue notice to the manager's page")
    steps: list[StepDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "PlayDef":
        problems = step_problems(self.steps) + self._outcome_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _outcome_problems(self) -> list[str]:
        problems = []
        for outcome in self.exit_outcomes:
            mapped = self.task_outcome.get(outcome) or (Outcome(outcome) if outcome in Outcome.__members__ else None)
            if mapped is None:
                problems.append(f"exit outcome {outcome!r} is not a task outcome and has no task_outcome mapping")
            elif mapped not in FINAL_OUTCOMES:
                problems.append(f"exit outcome {outcome!r} must map to a final task outcome, not {mapped.value!r}")
        return problems

    def task_outcome_for(self, exit_outcome: str) -> Outcome:
        return self.task_outcome.get(exit_outcome) or Outcome(exit_outcome)

    def planned_duration(self) -> timedelta:
        """The longest chain of step due durations: how long the play takes when every step is on time."""
        by_key = {s.key: s for s in self.steps}
        finish: dict[str, timedelta] = {}

        def finish_of(key: str) -> timedelta:
            if key not in finish:
                step = by_key[key]
                finish[key] = max((finish_of(d) for d in step.depends_on), default=timedelta(0)) + step.due
            return finish[key]

        return max(finish_of(k) for k in by_key)

    def step(self, key: str) -> StepDef | None:
        return next((s for s in self.steps if s.key == key), None)


def step_problems(steps: list[StepDef]) -> list[str]:
    """Unique keys, dependencies that exist, no cycles: each problem names the step."""
    problems: list[str] = []
    keys = [s.key for s in steps]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"step {key!r} is defined twice")
    known = set(keys)
    for step in steps:
        for dep in step.depends_on:
            if dep not in known:
                problems.append(f"step {step.key!r} depends on unknown step {dep!r}")
            elif dep == step.key:
                problems.append(f"step {step.key!r} depends on itself")
    if not problems:
        cycle = _find_cycle({s.key: s.depends_on for s in steps})
        if cycle:
            problems.append(f"steps form a cycle: {' -> '.join(cycle)}")
    return problems


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph[node]:
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


# --- a play run -------------------------------------------------------------------------------------------


class StepStatus(StrEnum):
    blocked = "blocked"
    ready = "ready"
    overdue = "overdue"
    done = "done"
    failed = "failed"


OPEN_STEP_STATUSES = (StepStatus.ready, StepStatus.overdue)


class RunStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class BoardGroup(IntEnum):
    """Where a running run sorts on the manager's board, most urgent first."""

    held = 0  # held up by a failed step: nothing moves until ops retries it
    waiting = 1  # waiting on an open step
    idle = 2  # nothing open


class StepFailure(BaseModel):
    """Why a step is `failed`: its action's activity gave up. Ops retries it (`POST .../steps/{key}/retry`)."""

    activity_type: str
    error_type: str | None = None
    message: str
    attempts: int | None = Field(default=None, description="Attempts made, when the retry policy ran out")
    at: datetime


class RunStep(BaseModel):
    key: str
    title: str
    owner_id: str
    depends_on: list[str] = []
    status: StepStatus = StepStatus.blocked
    ready_at: datetime | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    fields: dict[str, Any] = {}
    required_fields: list[str] = []
    escalated_at: datetime | None = None
    escalated_to: list[str] = []
    action: str | None = None
    failure: StepFailure | None = None


class Stuck(BaseModel):
    step_key: str
    owner_id: str
    waiting_since: datetime
    overdue_seconds: int
    failure: StepFailure | None = Field(default=None, description="Set when the run is held up by a failed step")


class PlayRunSummary(BaseModel):
    id: str
    play_key: str
    play_version: int
    account_id: str
    status: RunStatus
    current_steps: list[str] = []
    stuck: Stuck | None = None


class PlayRun(BaseModel):
    id: str
    workflow_id: str
    play_key: str
    play_version: int
    account_id: str
    signal_id: str | None = None
    task_id: str | None = None
    status: RunStatus
    outcome: str | None = None
    note: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    steps: list[RunStep]
    stuck: Stuck | None = None
    timeline: list[TimelineEntry] = []

    def open_steps(self) -> list[RunStep]:
        return [s for s in self.steps if s.status in OPEN_STEP_STATUSES]

    def failed_steps(self) -> list[RunStep]:
        return sorted((s for s in self.steps if s.status == StepStatus.failed), key=lambda s: (s.failure.at, s.key))

    def current_steps(self) -> list[RunStep]:
        """Where the run is: the steps open for their owners and those held up by a failed action."""
        return [s for s in self.steps if s.status in OPEN_STEP_STATUSES or s.status == StepStatus.failed]

    def as_of(self, now: datetime) -> "PlayRun":
        """The run as it stands at `now`: open steps past their due date are overdue, and what it is stuck on."""
        run = self.model_copy(update={"steps": [step.model_copy() for step in self.steps]})  # only steps change
        if run.status == RunStatus.running:
            for step in run.open_steps():
                if step.due_at and now > step.due_at:
                    step.status = StepStatus.overdue
        run.stuck = run.stuck_at(now)
        return run

    def stuck_step(self) -> RunStep | None:
        """A failed step first (nothing moves there until ops retries it), else the open step the run has waited
        on longest; None when the run is not running."""
        if self.status != RunStatus.running:
            return None
        waiting = self.failed_steps() or sorted(self.open_steps(), key=lambda s: (s.ready_at, s.key))
        return waiting[0] if waiting else None

    def board_group(self) -> BoardGroup | None:
        """Its place on the board (None once it has ended), from the step it is stuck on."""
        if self.status != RunStatus.running:
            return None
        step = self.stuck_step()
        return BoardGroup.idle if step is None else BoardGroup.held if step.failure else BoardGroup.waiting

    def stuck_at(self, now: datetime) -> Stuck | None:
        """The stuck step, and how far past its due date it is now."""
        step = self.stuck_step()
        if step is None:
            return None
        overdue = max(0, int((now - step.due_at).total_seconds()))
        return Stuck(step_key=step.key, owner_id=step.owner_id, waiting_since=step.ready_at, overdue_seconds=overdue,
                     failure=step.failure)


# --- API and workflow contracts ----------------------------------------------------------------------------


class PlayRunIn(BaseModel):
    play_key: str = Field(pattern=KEY_PATTERN, max_length=64)
    account_id: Identifier
    signal_id: Identifier | None = None


class PlayRunCreated(BaseModel):
    id: str
    workflow_id: str
    play_key: str
    play_version: int
    status: RunStatus


class PlayStart(BaseModel):
    """PlayWorkflow's input: the play definition in force at start and every step's owner, resolved once."""

    id: str
    play: PlayDef
    account: AccountSnapshot
    step_owners: dict[str, str]
    started_at: datetime
    started_by: str | None = None
    signal_id: str | None = None
    signal_family: str | None = None
    task_id: str | None = None


class StepCompleteRequest(BaseModel):
    fields: JsonObject = {}


class StepCompleteInput(StepCompleteRequest):
    step_key: str
    actor: Actor


class StepRetryRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000, description="Why it is safe to retry now (audited)")


class StepRetryInput(StepRetryRequest):
    step_key: str
    actor: Actor


class StepNudgeRequest(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="A word for the step's owner, in the page")


class StepNudgeInput(StepNudgeRequest):
    step_key: str
    actor: Actor
    actor_name: str = Field(max_length=200, description="Who nudges, as the page names them")


class StepActionRequest(BaseModel):
    """Activity input of a step's action. `key` is the same for every attempt and every retry of one run's step,
    so the receiving side can tell a retry from a new entry."""

    key: str
    action: str
    run_id: str
    play_key: str
    play_name: str
    account_id: str
    account_name: str
    step_key: str
    step_title: str
    completed_by: str | None
    completed_at: datetime | None
    fields: dict[str, Any] = {}


class StepActionResult(BaseModel):
    detail: str


class ExitRequest(BaseModel):
    outcome: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=4000)


class ExitInput(ExitRequest):
    actor: Actor


class PlayRunChange(BaseModel):
    """Activity input: one change of a play run, its size independent of the run's age: the run without its timeline
    and steps' fields, the timeline entries added since the last save (`timeline_from` is the first one's seq), and
    the fields of the steps completed since (each step's fields travel in one save only)."""

    revision: int
    run: PlayRun
    timeline_from: int = 0
    timeline: list[TimelineEntry] = []
    fields: dict[str, dict[str, Any]] = {}


class PlayOutcomeReport(BaseModel):
    """Activity input: a finished run's exit outcome, fed back to the signal task that started it."""

    run_id: str
    signal_id: str
    task_id: str
    outcome: Outcome
    note: str | None = None
