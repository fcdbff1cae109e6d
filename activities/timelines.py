"""Timelines kept one row per entry (signals', play runs'): a save appends what is new, a read rebuilds it all."""

from sqlmodel import Session, select

from core.db import insert_missing
from models.common import TimelineEntry
from models.tables import TimelineRow


def timeline_key(subject_id: str, seq: int) -> dict:
    """An entry's key: its subject and its place in the subject's timeline (the table's primary key)."""
    return {"subject_id": subject_id, "seq": seq}


def append_timeline(session: Session, subject_id: str, first_seq: int, entries: list[TimelineEntry]) -> None:
    """Entries `first_seq`, `first_seq + 1`, …: a key already there (a retried save) is left as it is."""
    insert_missing(session, TimelineRow, [{**timeline_key(subject_id, first_seq + i), **e.model_dump()}
                                          for i, e in enumerate(entries)])


def read_timeline(session: Session, subject_id: str) -> list[TimelineEntry]:
    rows = session.exec(select(TimelineRow).where(TimelineRow.subject_id == subject_id).order_by(TimelineRow.seq))
    return [TimelineEntry(at=r.at, type=r.type, actor=r.actor, detail=r.detail) for r in rows]
