"""The hand-over of open action items in the read model, on SQLite and PostgreSQL: two runs asking at once take
each released item once, and a write from an earlier holder never overwrites a later one's."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import Session
from temporalio.testing import ActivityEnvironment

from activities.rituals import RitualActivities
from core.db import session_scope
from models.common import Revision
from models.rituals import ActionItem, Carry, RitualState, TakeOver
from models.tables import ActionItemRow, AgendaRow
from models.tasks import Outcome
from services import action_items, agendas

LAST_WEEK = datetime(2026, 11, 26, 19, tzinfo=UTC)
THIS_WEEK = LAST_WEEK + timedelta(days=7)


def rituals() -> RitualActivities:
    return RitualActivities(session_scope, async_sessions=None, http=None,
                            settings=None)  # no Temporal client: no run in these tests still holds an item


RITUALS = rituals()


def agenda(session: Session, agenda_id: str, meeting_at: datetime) -> None:
    session.add(AgendaRow(id=agenda_id, ritual_key="at_risk_review", kind="at_risk_review", motion="academic",
                          meeting_at=meeting_at, built_at=meeting_at - timedelta(hours=1), workflow_id=f"wf-{agenda_id}",
                          config_version=1, body={"sections": []}))


def item(n: int, **fields) -> ActionItem:
    return ActionItem(id=f"agd-last-a{n}", agenda_id="agd-last", ritual_key="at_risk_review", motion="academic",
                      title=f"item {n}", owner_id="casey", due_at=LAST_WEEK + timedelta(days=2), created_at=LAST_WEEK, **fields)


def released(n: int) -> ActionItem:
    return item(n, overdue_paged=True, carries=[Carry(from_agenda_id="agd-last", from_meeting_at=LAST_WEEK,
                                                      released_at=THIS_WEEK - timedelta(hours=1))])


def save(env, revision: int, agenda_id: str, meeting_at: datetime, *items: ActionItem) -> None:
    env.run(RITUALS.save_ritual_state, Revision(revision=revision, state=RitualState(
        agenda_id=agenda_id, ritual_key="at_risk_review", motion="academic", meeting_at=meeting_at, action_items=list(items))))


def take(agenda_id: str, meeting_at: datetime) -> TakeOver:
    return TakeOver(agenda_id=agenda_id, ritual_key="at_risk_review", motion="academic", meeting_at=meeting_at,
                    at=THIS_WEEK - timedelta(minutes=50))


async def test_each_released_item_is_taken_once_even_by_two_attempts_at_once(any_db):
    """Two attempts of the same ask can run at once (the first timed out, Temporal retried it); a run of an earlier
    meeting asking later takes nothing a later meeting's run holds."""
    with Session(any_db) as session:
        for agenda_id, meeting_at in (("agd-last", LAST_WEEK), ("agd-mid", LAST_WEEK + timedelta(days=3)), ("agd-this", THIS_WEEK)):
            agenda(session, agenda_id, meeting_at)
        session.commit()
    env = ActivityEnvironment()
    save(env, 7, "agd-last", LAST_WEEK, released(1), released(2), item(3, outcome="renewed", outcome_at=LAST_WEEK))

    first, second = await asyncio.gather(*(env.run(RITUALS.take_over_action_items, take("agd-this", THIS_WEEK)) for _ in range(2)))
    for answer in (first, second):
        assert [i.id for i in answer.items] == ["agd-last-a1", "agd-last-a2"] and answer.waiting_for == []  # closed ones stay
        assert all(len(i.carries) == 1 and i.holder == "agd-this" for i in answer.items)
    with Session(any_db) as session:
        for item_id in ("agd-last-a1", "agd-last-a2"):
            stored = action_items.get_action_item(session, item_id)
            assert stored.holder == "agd-this" and len(stored.carries) == 1 and stored.overdue_paged
            assert session.get(ActionItemRow, item_id).meeting_at == LAST_WEEK  # still counted in the week that decided it
    late = await env.run(RITUALS.take_over_action_items, take("agd-mid", LAST_WEEK + timedelta(days=3)))
    assert late.items == [] and late.waiting_for == []


async def test_a_write_from_an_earlier_holder_never_overwrites_a_later_one(any_db):
    with Session(any_db) as session:
        agenda(session, "agd-last", LAST_WEEK)
        agenda(session, "agd-this", THIS_WEEK)
        session.commit()
    env = ActivityEnvironment()
    save(env, 40, "agd-last", LAST_WEEK, released(1))
    taken = (await env.run(RITUALS.take_over_action_items, take("agd-this", THIS_WEEK))).items[0]
    closed = taken.model_copy(update={"outcome": Outcome.renewed, "outcome_at": THIS_WEEK + timedelta(days=1)})
    save(env, 1, "agd-this", THIS_WEEK, closed)  # the taking run counts its revisions afresh: 1 is newer than 40 was
    save(env, 41, "agd-last", LAST_WEEK, item(1))  # last week's run, a late retry from before it released: ignored
    with Session(any_db) as session:
        row = session.get(ActionItemRow, "agd-last-a1")
        assert (row.is_open, row.outcome, row.revision) == (False, "renewed", 1)
        assert [i.id for i in agendas.action_items_of(session, "agd-this")] == ["agd-last-a1"]  # carried over to it
        assert [i.id for i in agendas.action_items_of(session, "agd-last")] == ["agd-last-a1"]  # and decided there
