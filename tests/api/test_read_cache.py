"""The API's cache of the directory and config: any write, from any process, makes the next request read afresh."""

from sqlmodel import Session, select, update

from core.db import get_engine
from models.tables import Account, CacheGeneration, User
from services.read_cache import ReadCache
from tests.support.stack import seed


def generation() -> int:
    with Session(get_engine()) as session:
        return session.exec(select(CacheGeneration.generation)).one()


def test_every_kind_of_write_to_the_directory_or_config_moves_the_generation(any_db):
    seed()
    before = generation()
    with Session(get_engine()) as session:  # an ORM change (flush)
        account = session.get(Account, "acme")
        account.team = {**account.team, "csm": "lee"}
        session.add(account)
        session.commit()
    after_orm = generation()
    with Session(get_engine()) as session:  # a bulk UPDATE skips the flush
        session.exec(update(User).where(User.id == "casey").values(name="Casey R."))
        session.commit()
    after_bulk = generation()
    with Session(get_engine()) as session:  # a rolled-back change moves nothing
        session.exec(update(User).where(User.id == "casey").values(name="nobody"))
        session.rollback()
    assert before < after_orm < after_bulk == generation()


def test_the_cache_keeps_values_until_the_generation_moves(sqlite_db):
    seed()
    cache, loads = ReadCache(), []

    def team() -> dict:
        with Session(get_engine()) as session:
            cache.refresh(session)
            return cache.get(("team", "acme"), lambda: loads.append(1) or dict(session.get(Account, "acme").team))

    assert team() == team() and len(loads) == 1
    with Session(get_engine()) as session:  # as another process would
        session.exec(update(Account).where(Account.id == "acme").values(team={"csm": "lee"}))
        session.commit()
    assert team() == {"csm": "lee"} and len(loads) == 2


async def test_a_routing_edit_and_a_team_change_reach_the_next_signal_at_once(api):
    headers = api.auth("rory")
    routing = (await api.http.get("/api/v1/config/routing", headers=headers)).json()
    rule = next(r for r in routing["rules"] if r["family"] == "adoption_decay")
    first = await api.http.post("/api/v1/signals", json={"family": "adoption_decay", "severity": "warning",
                                                         "account_id": "initech"}, headers=api.auth("admin"))
    assert first.status_code == 202 and first.json()["owners"] == ["casey"]

    rule["owners"] = ["csm_lead"]
    written = await api.http.put("/api/v1/config/routing", json={"rules": routing["rules"]}, headers=headers)
    second = await api.http.post("/api/v1/signals", json={"family": "adoption_decay", "severity": "warning",
                                                          "account_id": "initech"}, headers=api.auth("admin"))
    assert second.json()["routing_version"] == written.json()["version"] and second.json()["owners"] == ["lee"]

    team = set_team("initech", csm_lead="maya")  # as another process would (a handoff accepted in the worker)
    try:
        third = await api.http.post("/api/v1/signals", json={"family": "adoption_decay", "severity": "warning",
                                                             "account_id": "initech"}, headers=api.auth("admin"))
        assert third.json()["owners"] == ["maya"]
    finally:
        set_team("initech", **team)
        rule["owners"] = ["csm"]
        await api.http.put("/api/v1/config/routing", json={"rules": routing["rules"]}, headers=headers)


def set_team(account_id: str, **members: str) -> dict[str, str]:
    """Change an account's team straight in the database; returns the team it had."""
    with Session(get_engine()) as session:
        account = session.get(Account, account_id)
        before = dict(account.team)
        account.team = {**before, **members}
        session.add(account)
        session.commit()
    return before
