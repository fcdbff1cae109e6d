"""Timelines kept one row per entry (signals', play runs'): a save appends what is new, a read rebuilds it all.

A reset run replays to the reset point and saves again from the seq it had saved there: the entries an older run
wrote from that seq on were rolled back, so its first save replaces them (read_models.py decides which run is
newest; only the newest run's saves get here)."""

from sqlmodel import Session, delete, select

from activities.read_models import current_run_id
from core.db import insert_missing
from models.common import TimelineEntry
from models.tables import TimelineRow


def timeline_key(subject_id: str, seq: int) -> dict:
    """An entry's key: its subject and its place in the subject's timeline (the table's primary key)."""
    return {"subject_id": subject_id, "seq": seq}


def append_timeline(session: Session, subject_id: str, first_seq: int, entries: list[TimelineEntry]) -> None:
    """Entries `first_seq`, `first_seq + 1`, …: a key this run wrote already (a retried save) is left as it is."""
    run_id = current_run_id()
    if run_id is not None:
        session.exec(delete(TimelineRow).where(TimelineRow.subject_id == subject_id, TimelineRow.seq >= first_seq,
                                               TimelineRow.run_id.is_distinct_from(run_id)))
    insert_missing(session, TimelineRow, [{**timeline_key(subject_id, first_seq + i), **e.model_dump(), "run_id": run_id}
                                          for i, e in enumerate(entries)])


def replace_timeline(session: Session, subject_id: str, entries: list[TimelineEntry]) -> None:
    """The whole timeline, as the workflow holds it now (`ops reconcile`)."""
    session.exec(delete(TimelineRow).where(TimelineRow.subject_id == subject_id))
    session.flush()
    append_timeline(session, subject_id, 0, entries)


def read_timeline(session: Session, subject_id: str) -> list[TimelineEntry]:
    rows = session.exec(select(TimelineRow).where(TimelineRow.subject_id == subject_id).order_by(TimelineRow.seq))
    return [TimelineEntry(at=r.at, type=r.type, actor=r.actor, detail=r.detail) for r in rows]
