"""Events and score history on SQLite and PostgreSQL: stored once, rescored with history, times kept in UTC."""

import asyncio

from sqlmodel import Session, select

from pydantic import TypeAdapter

from core.db import get_engine
from models.events import AccountEvent
from models.tables import AccountScoreRow, EventRow
from services.events import ingest, latest_score, score_history
from tests.support.events import SCENARIO_END, bad_week, baseline
from tests.support.stack import seed

EVENTS = TypeAdapter(list[AccountEvent])


def test_ingest_keeps_events_once_and_the_score_history(any_db):
    seed()
    with Session(get_engine()) as session:
        first = asyncio.run(ingest(session, None, EVENTS.validate_python(baseline("acme")), actor="test"))
        second = asyncio.run(ingest(session, None, EVENTS.validate_python(bad_week("acme")), actor="test"))
        again = asyncio.run(ingest(session, None, EVENTS.validate_python(bad_week("acme")), actor="test"))
    assert first.stored == 12 and second.stored == 6 and again.stored == 0 and again.duplicates == 6
    with Session(get_engine()) as session:
        assert len(session.exec(select(EventRow).where(EventRow.account_id == "acme")).all()) == 18
        history = score_history(session, "acme")
        assert [p.health for p in history] == [72, 28]
        assert len(session.exec(select(AccountScoreRow)).all()) == 2
        score = latest_score(session, "acme")
        assert score.as_of == SCENARIO_END and score.renewal_risk.tier == "critical"
        assert history[-1].as_of == SCENARIO_END and history[-1].as_of.tzinfo is not None
