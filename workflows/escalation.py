"""The escalation ladder: every deadline a workflow watches (a signal's SLA, a task's or play step's due date, a
handoff's acceptance SLA, an action item's due date), each with its levels, on one durable timer.

A workflow arms a deadline when it starts to run, replaces it when it restarts (a reassignment), and stops it when
someone acts; `run` fires each stage as it falls due: the breach (the deadline passed with nobody acting), then
each level (`after` the stage before it, `to` whom: `manager` or a role on the account team). A level's targets are
looked up by an activity; an action that lands during the look-up wins: the level does not fire. What a stage does
(the timeline, the state, whom it pages and with what words) is the workflow's, through its two hooks.

Every due time is computed on the ladder's `Clock`: wall time, or a team's business hours (models/calendars.py:
BusinessHours, resolved at the signal's start and passed in as data). A warning before the breach and a re-page
after an acknowledgement are deadlines of their own on the same ladder (workflows/signal.py)."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.common import Role
    from models.routing import EscalationStep
    from models.signals import EscalationTargetRequest
    from workflows import metrics
    from workflows.activity_types import DirectoryActivities
    from workflows.deadlines import LATE_TIMER
    from workflows.paging import LOOKUP_ACTIVITY


class Clock(Protocol):
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The time `duration` after `start` on this clock."""
        ...


class WallClock:
    """Every hour counts. (BusinessHours skips nights, weekends, holidays and closures.)"""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration


def to_manager(after: timedelta) -> list[EscalationStep]:
    """The ladder of a due date: its owner's manager, `after` it."""
    return [EscalationStep(after=after, to=Role.manager)]


@dataclass
class Deadline:
    key: str  # unique among the workflow's deadlines: "sla", a task id, a step key, "acceptance", an item id
    due_at: datetime
    owners: list[str] = field(default_factory=list)  # whose it is: the look-up starts from them
    levels: list[EscalationStep] = field(default_factory=list)
    # Each level counts from the due time of the stage before it (a due date's fixed escalation time), else from
    # when that stage fired (an SLA ladder: each level after the one before has paged).
    from_due: bool = False
    stage: int = 0  # 0 waiting, 1 breached, 1 + n: level n fired
    next_at: datetime | None = None  # when the next stage falls due
    fired_at: datetime | None = None  # when the last stage fell due (before its look-up)

    def __post_init__(self) -> None:
        self.next_at = self.next_at or self.due_at

    @property
    def level(self) -> int:
        return max(self.stage - 1, 0)


Breached = Callable[[Deadline], Awaitable[None]]
Escalated = Callable[[Deadline, EscalationStep, list[str]], Awaitable[None]]


class EscalationLadder:
    def __init__(self, breached: Breached, escalated: Escalated, account_team: dict[str, str],
                 clock: Clock = WallClock()) -> None:
        self._breached = breached  # the deadline passed: record it (and page its owner, if that is the rule)
        self._escalated = escalated  # a level fired, to these targets: record it and page them
        self._team = account_team
        self.clock = clock
        self._armed: dict[str, Deadline] = {}
        self._changes = 0
        self._done: Callable[[], bool] = lambda: False

    def due(self, after: timedelta) -> datetime:
        """`after` from now, on the ladder's clock."""
        return self.clock.add(workflow.now(), after)

    def arm(self, deadline: Deadline) -> None:
        """Watch `deadline`, in place of any armed one with its key (a reassignment restarts the SLA)."""
        self._armed[deadline.key] = deadline
        self._changes += 1

    def stop(self, key: str) -> None:
        """Someone acted: the deadline no longer escalates, even if a look-up for it is running now."""
        if self._armed.pop(key, None) is not None:
            self._changes += 1

    async def run(self, done: Callable[[], bool]) -> None:
        """Fire every stage as it falls due, until `done()`."""
        self._done = done
        while not done():
            now = workflow.now()
            due = sorted((d for d in self._armed.values() if d.next_at <= now), key=lambda d: (d.next_at, d.key))
            for deadline in due:
                if self._is_armed(deadline):
                    await self._fire(deadline)
            if not due:
                await self._sleep()

    def _is_armed(self, deadline: Deadline) -> bool:
        return self._armed.get(deadline.key) is deadline and not self._done()

    async def _sleep(self) -> None:
        """Until the next stage falls due, or a deadline is armed or stopped. A timer that fires early (the server
        restarted with it pending) is simply waited out again by `run`: a deadline never lapses early."""
        seen = self._changes
        next_at = min((d.next_at for d in self._armed.values()), default=None)
        try:
            await workflow.wait_condition(lambda: self._changes != seen or self._done(),
                                          timeout=next_at - workflow.now() if next_at else None)
        except asyncio.TimeoutError:
            if (lateness := workflow.now() - next_at) > LATE_TIMER:
                metrics.timer_off_time("late")
            elif lateness < timedelta(0):
                metrics.timer_off_time("early")

    async def _fire(self, deadline: Deadline) -> None:
        deadline.fired_at = workflow.now()
        if deadline.stage == 0:
            deadline.stage = 1
            await self._breached(deadline)
        else:
            level = deadline.levels[deadline.stage - 1]
            targets = await workflow.execute_activity_method(
                DirectoryActivities.resolve_escalation_target,
                EscalationTargetRequest(to=level.to, account_team=self._team, current_owner_ids=deadline.owners),
                **LOOKUP_ACTIVITY,
            )
            if not self._is_armed(deadline):  # an action landed during the look-up: it wins
                return
            deadline.stage += 1
            await self._escalated(deadline, level, targets)
        if deadline.stage > len(deadline.levels):  # the top of the ladder: nothing more falls due
            if self._armed.get(deadline.key) is deadline:
                self.stop(deadline.key)
            return
        start = deadline.next_at if deadline.from_due else workflow.now()
        deadline.next_at = self.clock.add(start, deadline.levels[deadline.stage - 1].after)
