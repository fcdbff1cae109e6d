"""A person's inbox: what waits on them now, read from the read models the workflows keep, most urgent first."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from core.paging import Page, PageRequest, SortKey, page_of

from models.notifications import Notification
from models.plays import OPEN_STEP_STATUSES, PlayRun, RunStep
from models.signals import SignalDetail, SignalStatus
from models.tables import NotificationRow, PlayRunOpenStepRow, PlayRunRow, SignalRow, SignalToAcknowledgeRow
from models.tasks import Task, TaskCandidate
from services.task_templates import candidates_for, current_templates
from services.tasks import list_tasks, tasks_query

SHOWN = 50  # items drawn per section (the pages show these); the counts cover everything


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
    """The first `shown` items of each section, most urgent first; `counts` covers every item."""

    to_acknowledge: list[WaitingSignal]
    needs_task: list[WaitingSignal]
    steps: list[WaitingStep]
    tasks: list[Task]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.counts.values())


def _count(session: Session, query) -> int:
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def signals_to_acknowledge(session: Session, user_id: str, shown: int = SHOWN) -> tuple[list[SignalDetail], int]:
    """Open or escalated signals the user owns or has been escalated to: the first `shown` (the earliest SLA first,
    the newest among equals) and how many there are, both from the to-acknowledge index; only the signals shown
    are read whole."""
    waiting = select(SignalToAcknowledgeRow.signal_id).where(SignalToAcknowledgeRow.user_id == user_id)
    ids = session.exec(waiting.order_by(SignalToAcknowledgeRow.sla_due_at, SignalToAcknowledgeRow.created_at.desc(),
                                        SignalToAcknowledgeRow.signal_id).limit(shown)).all()
    states = dict(session.exec(select(SignalRow.id, SignalRow.state).where(SignalRow.id.in_(ids))).all()) if ids else {}
    return [SignalDetail.model_validate(states[i]) for i in ids if i in states], _count(session, waiting)


def signals_needing_a_task(session: Session, user_id: str, shown: int = SHOWN) -> tuple[list[SignalDetail], int]:
    """Signals the user acknowledged that have no task yet (an acknowledged signal must produce one), newest first."""
    query = select(SignalRow).where(SignalRow.acknowledged_by == user_id, SignalRow.status == SignalStatus.acknowledged.value,
                                    SignalRow.task_count == 0)
    rows = session.exec(query.order_by(SignalRow.created_at.desc(), SignalRow.id).limit(shown))
    return [SignalDetail.model_validate(r.state) for r in rows], _count(session, query)


def steps_waiting_on(session: Session, user_id: str, now: datetime | None = None,
                     shown: int = SHOWN) -> tuple[list[WaitingStep], int]:
    """Open steps of running plays that the user owns, overdue ones first: the open-steps index finds them, and
    only the runs of the steps shown are read whole."""
    now = now or datetime.now(UTC)
    query = select(PlayRunOpenStepRow).where(PlayRunOpenStepRow.owner_id == user_id)
    found = session.exec(query.order_by(PlayRunOpenStepRow.due_at, PlayRunOpenStepRow.ready_at.desc(),
                                        PlayRunOpenStepRow.run_id, PlayRunOpenStepRow.step_key).limit(shown)).all()
    run_ids = list(dict.fromkeys(f.run_id for f in found))
    states = session.exec(select(PlayRunRow.state).where(PlayRunRow.id.in_(run_ids))).all() if run_ids else []
    runs = {s["id"]: PlayRun.model_validate({**s, "timeline": []}).as_of(now) for s in states}  # never the timeline
    waiting = [WaitingStep(runs[f.run_id], step) for f in found if f.run_id in runs
               for step in runs[f.run_id].steps if step.key == f.step_key and step.status in OPEN_STEP_STATUSES]
    return waiting, _count(session, query)


def open_tasks(session: Session, user_id: str, shown: int = SHOWN) -> tuple[list[Task], int]:
    query = tasks_query(user_id, True)
    first = list_tasks(session, user_id, True, PageRequest(limit=shown)).items
    return first, _count(session, query)


def inbox_for(session: Session, user_id: str, now: datetime | None = None, shown: int = SHOWN) -> Inbox:
    now = now or datetime.now(UTC)
    sections = {
        "to_acknowledge": signals_to_acknowledge(session, user_id, shown),
        "needs_task": signals_needing_a_task(session, user_id, shown),
        "steps": steps_waiting_on(session, user_id, now, shown),
        "tasks": open_tasks(session, user_id, shown),
    }
    templates = current_templates(session) if sections["needs_task"][0] else None
    return Inbox(
        to_acknowledge=[WaitingSignal(s) for s in sections["to_acknowledge"][0]],
        needs_task=[WaitingSignal(s, candidates_for(session, s, now, templates)) for s in sections["needs_task"][0]],
        steps=sections["steps"][0],
        tasks=sections["tasks"][0],
        counts={name: count for name, (_, count) in sections.items()},
    )


def notifications_for(session: Session, user_id: str, page: PageRequest = PageRequest()) -> Page[Notification]:
    """Pages, escalations, overdue notices and handoff requests for the user, newest first."""
    order = (SortKey(NotificationRow.at, descending=True), SortKey(NotificationRow.id, descending=True))
    return page_of(session, select(NotificationRow).where(NotificationRow.user_id == user_id), page, "notifications",
                   order, lambda row: Notification.model_validate(row, from_attributes=True))
