"""The one rule every read-model writer follows (signals, tasks, play runs, handoffs, agendas, action items):
which write may replace a row.

Within a run, revisions only grow: a write whose revision is not above the stored one (a retry, a reordered write)
changes nothing. A reset run (`pillar ops reset`) counts its revisions from the reset point again, so revisions of
two runs do not compare: a row follows its workflow's newest run, whatever the revisions, and a run once superseded
writes nothing more (one of its activity attempts may still be in flight after the reset terminated it).

Which run is newest: each run is recorded (`workflow_runs`) with the start of the first of its activity attempts
that wrote (`ops reset` records the new run as soon as the reset returns). A reset terminates the old run before
the new one runs anything, so every attempt of the old run started before any attempt of the new one, in whatever
order they reach the database."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select
from temporalio import activity

from core.db import insert_missing
from models.tables import SignalRow, WorkflowRunRow


@dataclass(frozen=True)
class Writer:
    """Who writes: a workflow run, as of `at` (when the writing attempt started)."""

    workflow_id: str
    run_id: str
    at: datetime
    rebuild: bool = False  # `ops reconcile`: the run's current state, written whatever the stored revision


@dataclass(frozen=True)
class Claim:
    """A write that may go ahead: stamp the row with `run_id` and `revision`."""

    run_id: str | None
    revision: int


_writer: ContextVar[Writer | None] = ContextVar("read_model_writer", default=None)


@contextmanager
def writing_as(writer: Writer) -> Iterator[None]:
    """Write as `writer` rather than as the running activity (reconcile rebuilds rows outside any activity)."""
    token = _writer.set(writer)
    try:
        yield
    finally:
        _writer.reset(token)


def current_writer() -> Writer | None:
    """The writing activity's run (local activities too); None outside any activity and `writing_as` (a script)."""
    writer = _writer.get()
    if writer is not None or not activity.in_activity():
        return writer
    info = activity.info()
    return Writer(info.workflow_id, info.workflow_run_id, info.started_time)


def current_run_id() -> str | None:
    """The writing run's id; None for a script."""
    writer = current_writer()
    return writer.run_id if writer else None


def claim(session: Session, row, revision: int) -> Claim | None:
    """May the current writer put `revision` in `row` (None: a new row)? None when the write must change nothing."""
    writer = current_writer()
    stored_run, stored_revision = (row.run_id, _revision_of(row)) if row is not None else (None, 0)
    if writer is None:
        return Claim(stored_run, revision) if revision > stored_revision else None
    if not is_newest(session, writer):
        return None
    if writer.rebuild:
        return Claim(writer.run_id, stored_revision if stored_run == writer.run_id else 0)
    if stored_run is None or stored_run == writer.run_id or not _same_workflow(session, stored_run, writer):
        # the same run (or a row from before runs were recorded, or another workflow's): revisions compare
        return Claim(writer.run_id, revision) if revision > stored_revision else None
    return Claim(writer.run_id, revision)  # an older run of this workflow wrote it: the newest run's state wins


def writes_for_newest_run(session: Session) -> bool:
    """False for a run that a reset has superseded: none of its writes may land (a script writes as nobody)."""
    writer = current_writer()
    return writer is None or is_newest(session, writer)


def is_newest(session: Session, writer: Writer) -> bool:
    """Record the writer's run if it is new, and say whether it is its workflow's newest run (asked once per
    transaction: a signal's save writes each of its tasks)."""
    transaction, known = session.info.get("newest_runs", (None, {}))
    if transaction is not session.get_transaction():
        known = {}
        session.info["newest_runs"] = (session.get_transaction(), known)
    if (writer.workflow_id, writer.run_id) not in known:
        known[writer.workflow_id, writer.run_id] = _is_newest(session, writer)
    return known[writer.workflow_id, writer.run_id]


def _is_newest(session: Session, writer: Writer) -> bool:
    runs = dict(session.exec(select(WorkflowRunRow.run_id, WorkflowRunRow.seen_at)
                             .where(WorkflowRunRow.workflow_id == writer.workflow_id)).all())
    if writer.run_id not in runs:
        record_run(session, writer)
        runs[writer.run_id] = writer.at
    newest = max(runs, key=lambda run_id: (runs[run_id], run_id))
    return newest == writer.run_id


def record_run(session: Session, writer: Writer) -> None:
    """A concurrent writer of the same new run records it too: the first one's time stays."""
    insert_missing(session, WorkflowRunRow, [{"run_id": writer.run_id, "workflow_id": writer.workflow_id,
                                              "seen_at": writer.at}])


def _same_workflow(session: Session, run_id: str, writer: Writer) -> bool:
    workflow_id = session.exec(select(WorkflowRunRow.workflow_id).where(WorkflowRunRow.run_id == run_id)).first()
    return workflow_id in (None, writer.workflow_id)


def _revision_of(row) -> int:
    return row.state.get("revision", 0) if isinstance(row, SignalRow) else row.revision
