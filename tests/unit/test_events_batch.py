"""A batch of events is scored once per account it touches, with a few queries whatever their number, and ends
where the same events ingested one by one end."""

import asyncio

import pytest
from pydantic import TypeAdapter
from sqlalchemy import event
from sqlmodel import Session, select

from core.db import get_engine
from models.events import AccountEvent
from models.tables import Account, AccountScoreRow
from services import events as ingest_service
from models.signals import SignalIn
from services.events import event_id_for, ingest, latest_score, rescore_and_detect
from tests.support.events import bad_week, baseline
from tests.support.stack import seed

EVENTS = TypeAdapter(list[AccountEvent])
TEAM = {"ae": "alex", "csm": "casey", "csm_lead": "lee"}


def make_accounts(*ids: str) -> None:
    with Session(get_engine()) as session:
        for account_id in ids:
            session.add(Account(id=account_id, name=account_id, arr=180_000, motion="academic", team=TEAM))
        session.commit()


def scenario(*account_ids: str) -> list:
    return EVENTS.validate_python([e for a in account_ids for e in baseline(a) + bad_week(a)])


def statements_to_ingest(events) -> int:
    counted = []

    def count(*_):
        counted.append(1)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        with Session(get_engine()) as session:
            asyncio.run(ingest(session, None, events, actor="test"))
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    return len(counted)


def test_a_batch_reads_and_writes_in_a_few_statements_however_many_accounts_it_touches(any_db):
    seed()
    ten = [f"many-{i}" for i in range(10)]
    make_accounts("one", *ten)
    assert statements_to_ingest(scenario("one")) == statements_to_ingest(scenario(*ten))


def test_each_account_is_scored_once_per_batch(sqlite_db, monkeypatch):
    seed()
    make_accounts("alpha", "bravo")
    calls = []
    real = ingest_service.compute_scores
    monkeypatch.setattr(ingest_service, "compute_scores", lambda account_id, *a: calls.append(account_id) or real(account_id, *a))
    with Session(get_engine()) as session:
        result = asyncio.run(ingest(session, None, scenario("alpha", "bravo"), actor="test"))
    assert result.stored == 36 and sorted(calls) == ["alpha", "bravo"]
    with Session(get_engine()) as session:
        assert sorted(session.exec(select(AccountScoreRow.account_id)).all()) == ["alpha", "bravo"]


def test_a_batch_ends_where_the_same_events_one_by_one_end(sqlite_db):
    seed()
    make_accounts("batched", "single")
    with Session(get_engine()) as session:
        _, batch_requests = ingest_service.store_and_score(session, scenario("batched"))
        for one in scenario("single"):
            _, single_requests = ingest_service.store_and_score(session, [one])
    with Session(get_engine()) as session:
        batched, single = latest_score(session, "batched"), latest_score(session, "single")
        history = len(session.exec(select(AccountScoreRow).where(AccountScoreRow.account_id == "single")).all())
        batch_requests = [SignalIn.model_validate(r.request) for r in ingest_service.queued_detections(session, batch_requests)]
        single_requests = [SignalIn.model_validate(r.request) for r in ingest_service.queued_detections(session, single_requests)]

    sources = {event_id_for(a, e.external_id): e.external_id for a in ("batched", "single") for e in scenario(a)}

    def without_account(value):
        """The two accounts' events differ only in their account, and so in their ids (and the order ids sort in)."""
        if isinstance(value, dict):
            return {k: without_account(v) for k, v in value.items()}
        if isinstance(value, list) and value and all(isinstance(v, str) and v in sources for v in value):
            return sorted(sources[v] for v in value)
        if isinstance(value, list):
            return [without_account(v) for v in value]
        return value.replace("single", "batched") if isinstance(value, str) else value

    assert batched.health.value == 28 and batched.renewal_risk.tier == "critical"
    assert without_account(batched.model_dump()) == without_account(single.model_dump())
    assert history == 18  # one history point per batch: here, one per event
    assert {r.family for r in batch_requests} == {"renewal_risk", "champion_departed", "nps_decline"}
    assert without_account([r.model_dump() for r in batch_requests]) == without_account([r.model_dump() for r in single_requests])


@pytest.mark.parametrize("as_of_given", [False, True])
def test_a_sweep_scores_accounts_without_events_at_now_or_at_the_given_time(sqlite_db, as_of_given):
    seed()
    make_accounts("quiet")
    from tests.support.events import SCENARIO_END

    with Session(get_engine()) as session:
        account = session.get(Account, "quiet")
        [point], queued = rescore_and_detect(session, [account], SCENARIO_END if as_of_given else None)
    assert queued == [] and point.health == 70
    assert (point.as_of == SCENARIO_END) is as_of_given
