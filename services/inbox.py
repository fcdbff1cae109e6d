"""A person's inbox: what waits on them now, read from the read models the workflows keep, most urgent first."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, select

from models.notifications import Notification
from models.plays import OPEN_STEP_STATUSES, PlayRun, RunStatus, RunStep
from models.signals import SignalDetail, SignalStatus
from models.tables import NotificationRow, PlayRunOwnerRow, PlayRunRow, SignalOwnerRow, SignalRow
from models.tasks import Task, TaskCandidate
from services.tasks import candidates_for, list_tasks

UNACKNOWLEDGED = (SignalStatus.open.value, SignalStatus.escalated.value)


@dataclass
class WaitingSignal:
    signal: SignalDetail
    candidates: list[TaskCandidate] = field(default_factory=list)


@dataclass
class WaitingStep:
    run: PlayRun
    step: RunStep


@dataclass
class Inbox:
    to_acknowledge: list[WaitingSignal]
    needs_task: list[WaitingSignal]
    steps: list[WaitingStep]
    tasks: list[Task]

    @property
    def count(self) -> int:
        return len(self.to_acknowledge) + len(self.needs_task) + len(self.steps) + len(self.tasks)


def most_urgent_first(items, due, created):
    """Most urgent first (the earliest deadline: overdue ones lead), the newest first among equals."""
    by_newest = sorted(items, key=lambda i: created(i) or datetime.min.replace(tzinfo=UTC), reverse=True)
    return sorted(by_newest, key=lambda i: due(i) or datetime.max.replace(tzinfo=UTC))


def signals_to_acknowledge(session: Session, user_id: str) -> list[SignalDetail]:
    """Open or escalated signals the user owns or has been escalated to."""
    owned = session.exec(
        select(SignalRow).join(SignalOwnerRow, SignalOwnerRow.signal_id == SignalRow.id)
        .where(SignalOwnerRow.user_id == user_id, SignalRow.status.in_(UNACKNOWLEDGED))
    ).all()
    escalated = session.exec(select(SignalRow).where(SignalRow.status == SignalStatus.escalated.value)).all()
    rows = {r.id: r for r in owned} | {r.id: r for r in escalated if user_id in (r.escalated_to or [])}
    signals = [SignalDetail.model_validate(r.state) for r in rows.values()]
    return most_urgent_first(signals, lambda s: s.sla_due_at, lambda s: s.created_at)


def signals_needing_a_task(session: Session, user_id: str) -> list[SignalDetail]:
    """Signals the user acknowledged that have no task yet (an acknowledged signal must produce one)."""
    rows = session.exec(
        select(SignalRow).where(SignalRow.acknowledged_by == user_id, SignalRow.status == SignalStatus.acknowledged.value)
    ).all()
    signals = [SignalDetail.model_validate(r.state) for r in rows]
    return sorted((s for s in signals if not s.tasks), key=lambda s: s.created_at, reverse=True)


def steps_waiting_on(session: Session, user_id: str, now: datetime | None = None) -> list[WaitingStep]:
    """Open steps of running plays that the user owns, overdue ones first."""
    now = now or datetime.now(UTC)
    rows = session.exec(
        select(PlayRunRow).join(PlayRunOwnerRow, PlayRunOwnerRow.run_id == PlayRunRow.id)
        .where(PlayRunOwnerRow.user_id == user_id, PlayRunRow.status == RunStatus.running.value)
    ).all()
    open_statuses = {s.value for s in OPEN_STEP_STATUSES}
    waiting = []
    for row in rows:
        if not any(s["owner_id"] == user_id and s["status"] in open_statuses for s in row.state.get("steps", [])):
            continue
        run = PlayRun.model_validate({**row.state, "timeline": []}).as_of(now)  # the inbox never shows the timeline
        waiting += [WaitingStep(run, s) for s in run.steps if s.owner_id == user_id and s.status in OPEN_STEP_STATUSES]
    return most_urgent_first(waiting, lambda w: w.step.due_at, lambda w: w.step.ready_at)


def inbox_for(session: Session, user_id: str, now: datetime | None = None) -> Inbox:
    now = now or datetime.now(UTC)
    needs_task = [WaitingSignal(s, candidates_for(session, s, now)) for s in signals_needing_a_task(session, user_id)]
    tasks = most_urgent_first(list_tasks(session, user_id, True), lambda t: t.due_at, lambda t: t.created_at)
    return Inbox(
        to_acknowledge=[WaitingSignal(s) for s in signals_to_acknowledge(session, user_id)],
        needs_task=needs_task,
        steps=steps_waiting_on(session, user_id, now),
        tasks=tasks,
    )


def notifications_for(session: Session, user_id: str, limit: int = 100) -> list[Notification]:
    """Pages, escalations, overdue notices and handoff requests for the user, newest first."""
    rows = session.exec(
        select(NotificationRow)
        .where(NotificationRow.user_id == user_id)
        .order_by(NotificationRow.at.desc(), NotificationRow.id.desc())
        .limit(limit)
    )
    return [Notification.model_validate(r, from_attributes=True) for r in rows]
