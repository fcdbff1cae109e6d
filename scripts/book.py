"""A book of business for benchmarks: N running play runs and N open or escalated signals, written straight into the
read-model tables (bulk inserts, no Temporal), with the rows and the state JSON exactly as the activities write them
(`activities.plays.play_run_columns`, `activities.signals.signal_columns`).

    from scripts.book import seed_book
    with session_scope() as session:
        seed_book(session, runs=10_000, signals=10_000, owner_id="casey")

The directory must exist first (`core.seed.load_demo_directory`): runs and signals are on the demo accounts.
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from sqlmodel import Session

from activities.plays import open_step_rows, play_run_columns
from activities.signals import signal_columns, signal_people
from models.common import Severity, TimelineEntry
from models.plays import PlayDef, PlayRun, RunStatus, RunStep, StepStatus
from models.signals import SignalDetail, SignalStatus
from models.tables import PlayRunOpenStepRow, PlayRunOwnerRow, PlayRunRow, SignalRow, User
from plays import load_library

ACCOUNTS = ("acme", "globex", "initech")
BATCH = 1000


def seed_book(session: Session, runs: int, signals: int, owner_id: str = "casey", overdue_every: int = 3,
              escalated_every: int = 3, play_key: str = "renewal_save", now: datetime | None = None) -> None:
    """Write `runs` running plays (every `overdue_every`-th past its due date) whose CSM steps `owner_id` owns, and
    `signals` signals `owner_id` owns (every `escalated_every`-th escalated to their manager), in bulk. Ids are
    numbered from what is already there, so the book can grow. Flushes; the caller commits."""
    now = now or datetime.now(UTC)
    manager = session.get(User, owner_id).manager_id or owner_id
    play = load_library()[play_key]
    team = {"csm": owner_id, "csm_lead": manager, "ae": "alex"}
    first = _count(session, PlayRunRow)
    _insert(session, (book_run(play, first + i, team, now, i % overdue_every == 0) for i in range(runs)), _run_rows)
    first = _count(session, SignalRow)
    escalate = [manager]
    _insert(session, (book_signal(first + i, owner_id, escalate if i % escalated_every == 0 else [], now)
                      for i in range(signals)), _signal_rows)


def book_run(play: PlayDef, index: int, team: dict[str, str], now: datetime, overdue: bool) -> PlayRun:
    """A run a day in: its first step done, the steps after it ready (past due when `overdue`)."""
    started = now - timedelta(days=1, minutes=index % 600)
    first = play.steps[0].key
    steps = []
    for step in play.steps:
        status = StepStatus.done if step.key == first else (
            StepStatus.ready if step.depends_on == [first] else StepStatus.blocked)
        ready = started + timedelta(hours=2) if status == StepStatus.ready else started
        due = ready + (timedelta(minutes=10) if overdue else step.due)
        steps.append(RunStep(
            key=step.key, title=step.title, owner_id=team[step.owner_role.value], depends_on=step.depends_on,
            status=status, ready_at=ready if status != StepStatus.blocked else None,
            due_at=due if status != StepStatus.blocked else None, required_fields=step.required_fields,
            completed_at=ready if status == StepStatus.done else None,
            completed_by=team[step.owner_role.value] if status == StepStatus.done else None,
            fields={"root_cause": "usage fell after the champion left"} if status == StepStatus.done else {}))
    timeline = [TimelineEntry(at=started, type="started", detail=f"{play.name} v{play.version}"),
                TimelineEntry(at=started + timedelta(hours=2), type="step_completed", actor=team["csm"], detail=first)]
    return PlayRun(id=f"run-book-{index:06d}", workflow_id=f"play-run-book-{index:06d}", play_key=play.key,
                   play_version=play.version, account_id=ACCOUNTS[index % len(ACCOUNTS)], status=RunStatus.running,
                   started_at=started, steps=steps, timeline=timeline)


def book_signal(index: int, owner_id: str, escalated_to: list[str], now: datetime) -> SignalDetail:
    """An adoption-decay signal: open within its SLA, or escalated (its SLA lapsed) to `escalated_to`."""
    created = now - timedelta(hours=50 if escalated_to else 1, minutes=index % 5000)
    timeline = [TimelineEntry(at=created, type="created", detail="adoption_decay/warning, routing v1"),
                TimelineEntry(at=created, type="paged", detail=owner_id)]
    if escalated_to:
        timeline.append(TimelineEntry(at=created + timedelta(hours=48), type="escalated",
                                      detail=f"level 1 to {', '.join(escalated_to)}"))
    return SignalDetail(
        id=f"sig-book-{index:06d}", family="adoption_decay", severity=Severity.warning,
        account_id=ACCOUNTS[index % len(ACCOUNTS)],
        status=SignalStatus.escalated if escalated_to else SignalStatus.open, owners=[owner_id],
        escalation_level=1 if escalated_to else 0, escalated_to=escalated_to, sla_due_at=created + timedelta(hours=48),
        routing_version=1, created_at=created, evidence={"inactive_days": 12 + index % 40, "active_users_drop": 0.35},
        timeline=timeline)


def _run_rows(run: PlayRun) -> dict[type, list[dict]]:
    row = {"id": run.id, "workflow_id": run.workflow_id, "play_key": run.play_key, "play_version": run.play_version,
           "account_id": run.account_id, "started_at": run.started_at, **play_run_columns(1, run)}
    owners = [{"run_id": run.id, "user_id": user_id} for user_id in sorted({s.owner_id for s in run.steps})]
    return {PlayRunRow: [row], PlayRunOwnerRow: owners, PlayRunOpenStepRow: [_values(r) for r in open_step_rows(run)]}


def _signal_rows(signal: SignalDetail) -> dict[type, list[dict]]:
    row = {"id": signal.id, "workflow_id": f"signal-{signal.id}", **signal_columns(1, signal)}
    tables: dict[type, list[dict]] = {SignalRow: [row]}
    for person in signal_people(signal):
        tables.setdefault(type(person), []).append(_values(person))
    return tables


def _values(row) -> dict:
    return row.model_dump()


def _insert(session: Session, items: Iterable, rows_of) -> None:
    """Bulk-insert in batches, parents before children (the owner tables refer to their run or signal)."""
    for batch in _batches(items):
        tables: dict[type, list[dict]] = {}
        for item in batch:
            for table, rows in rows_of(item).items():
                tables.setdefault(table, []).extend(rows)
        for table, rows in tables.items():
            if rows:
                session.execute(table.__table__.insert(), rows)
    session.flush()


def _batches(items: Iterable) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _count(session: Session, table) -> int:
    from sqlmodel import func, select

    return session.exec(select(func.count()).select_from(table)).one()
